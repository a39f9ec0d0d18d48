// The walk-in form: type, name, phone, e-mail, birthday, groups, notes, invoice data, consent;
// the duplicate warning updates as the name and phone are typed; a photo from the camera.
package app.fiche.desk

import androidx.compose.foundation.layout.*
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.unit.dp
import kotlinx.coroutines.launch
import uniffi.fiche_mobile.*

@Composable
fun WalkInScreen(desk: DeskModel, onDone: (String) -> Unit) {
    val settings = remember { desk.store.settings() }
    var form by remember {
        mutableStateOf(WalkIn(settings.clientTypes.firstOrNull().orEmpty(), "", "", "", "", "", "", "", emptyList(), "", false))
    }
    var problems by remember { mutableStateOf<List<FieldProblem>>(emptyList()) }
    var similar by remember { mutableStateOf<List<DuplicateMatch>>(emptyList()) }
    var photo by remember { mutableStateOf<ByteArray?>(null) }
    var camera by remember { mutableStateOf(false) }
    val scope = rememberCoroutineScope()
    LaunchedEffect(form.firstName, form.lastName, form.companyName, form.phone, form.email) {
        similar = desk.io { desk.store.similar(form) }
    }
    if (camera) {
        CameraCapture(onPhoto = { photo = it; camera = false }, onCancel = { camera = false })
        return
    }
    fun error(field: String) = problems.firstOrNull { it.field == field || it.field.startsWith("$field.") }?.reason
    Column(Modifier.verticalScroll(rememberScrollState()).padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("New client", style = MaterialTheme.typography.headlineSmall)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            settings.clientTypes.forEach { type ->
                FilterChip(selected = form.clientType == type, onClick = { form = form.copy(clientType = type) }, label = { Text(type) })
            }
        }
        Field("First name", form.firstName, error("name")) { form = form.copy(firstName = it) }
        Field("Last name", form.lastName, null) { form = form.copy(lastName = it) }
        Field("Phone", form.phone, error("phones")) { form = form.copy(phone = it) }
        Field("E-mail", form.email, error("emails")) { form = form.copy(email = it) }
        Field("Birthday (YYYY-MM-DD)", form.birthday, error("birthday")) { form = form.copy(birthday = it) }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            settings.groups.forEach { group ->
                FilterChip(
                    selected = group in form.groups,
                    onClick = { form = form.copy(groups = if (group in form.groups) form.groups - group else form.groups + group) },
                    label = { Text(group) },
                )
            }
        }
        Field("Company (invoices)", form.companyName, error("invoice.company_name")) { form = form.copy(companyName = it) }
        Field("VAT number", form.vatNumber, error("invoice.vat_number")) { form = form.copy(vatNumber = it) }
        Field("Notes", form.notes, null) { form = form.copy(notes = it) }
        Row(verticalAlignment = Alignment.CenterVertically) {
            Checkbox(checked = form.consent, onCheckedChange = { form = form.copy(consent = it) })
            Text("The client agrees to the processing of their data (recorded with who and when)")
        }
        if (similar.isNotEmpty()) {
            Card(colors = CardDefaults.cardColors(containerColor = Color(0xFFFFF3CD))) {
                Column(Modifier.padding(8.dp)) {
                    Text("Already filed?")
                    similar.forEach { Text("${it.name} — ${it.reasons.joinToString()}") }
                }
            }
        }
        problems.filter { it.field !in listOf("name", "birthday") && !it.field.startsWith("phones") && !it.field.startsWith("emails") && !it.field.startsWith("invoice") }
            .forEach { Text("${it.field}: ${it.reason}", color = MaterialTheme.colorScheme.error) }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(onClick = { camera = true }) { Text(if (photo == null) "Take photo" else "Retake photo") }
            Button(onClick = {
                scope.launch {
                    try {
                        val created = desk.io { desk.store.createClient(form) }
                        photo?.let { bytes -> desk.io { desk.store.setPhoto(created.id, bytes, "walk-in.jpg") } }
                        desk.search("")
                        onDone(created.id)
                    } catch (e: FicheException.Invalid) {
                        problems = e.problems
                    }
                }
            }) { Text("Save") }
        }
    }
}

@Composable
private fun Field(label: String, value: String, error: String?, onChange: (String) -> Unit) {
    OutlinedTextField(
        value = value,
        onValueChange = onChange,
        label = { Text(label) },
        isError = error != null,
        supportingText = { error?.let { Text(it) } },
        modifier = Modifier.fillMaxWidth(),
    )
}
