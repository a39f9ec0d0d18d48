// A client's card: photo preview, the form's fields, contacts, sites and interventions.
package app.fiche.desk

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.layout.*
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.unit.dp
import uniffi.fiche_mobile.ClientCard

@Composable
fun ClientScreen(desk: DeskModel, id: String) {
    var card by remember { mutableStateOf<ClientCard?>(null) }
    var preview by remember { mutableStateOf<ByteArray?>(null) }
    LaunchedEffect(id) {
        card = desk.io { desk.store.client(id) }
        val thumbnail = card?.photo?.thumbnail ?: return@LaunchedEffect
        preview = desk.io { desk.store.file(thumbnail) } ?: runCatching { desk.store.fetchFile(SERVER, thumbnail) }.getOrNull()
    }
    val c = card ?: return
    Column(Modifier.verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        preview?.let { bytes ->
            BitmapFactory.decodeByteArray(bytes, 0, bytes.size)?.let {
                Image(it.asImageBitmap(), contentDescription = "Photo of ${c.name}", Modifier.size(128.dp))
            }
        }
        Text(c.name, style = MaterialTheme.typography.headlineSmall)
        Section("Phone", listOf(c.form.phone))
        Section("E-mail", listOf(c.form.email))
        Section("Groups", c.form.groups)
        Section("Company", listOf(c.form.companyName, c.form.vatNumber))
        Section("Contacts", c.contacts.map { "${it.role} (${it.id.take(8)})" })
        Section("Sites", c.sites)
        Section("Interventions", c.interventions)
        Section("Notes", listOf(c.form.notes))
    }
}

@Composable
private fun Section(title: String, lines: List<String>) {
    val shown = lines.filter { it.isNotBlank() }
    if (shown.isEmpty()) return
    Text(title, style = MaterialTheme.typography.labelLarge)
    shown.forEach { Text(it) }
}
