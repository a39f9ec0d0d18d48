// The client list: search as you type, a sync status bar, a button for a walk-in.
package app.fiche.desk

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.*
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.*
import androidx.compose.runtime.*
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import uniffi.fiche_mobile.SyncStatus

@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun ClientListScreen(desk: DeskModel, onNew: () -> Unit, onOpen: (String) -> Unit) {
    val rows by desk.rows.collectAsState()
    val status by desk.status.collectAsState()
    var text by remember { mutableStateOf("") }
    Scaffold(
        topBar = { TopAppBar(title = { Text("Clients") }) },
        bottomBar = { SyncBar(status) },
        floatingActionButton = { FloatingActionButton(onClick = onNew) { Text("+") } },
    ) { padding ->
        Column(Modifier.padding(padding).padding(8.dp)) {
            OutlinedTextField(
                value = text,
                onValueChange = { text = it; desk.search(it) },
                label = { Text("Name, phone, e-mail, city") },
                modifier = Modifier.fillMaxWidth(),
            )
            LazyColumn {
                items(rows, key = { it.id }) { row ->
                    ListItem(
                        headlineContent = { Text(row.name) },
                        supportingContent = { Text(listOf(row.city, row.phones.firstOrNull().orEmpty()).filter { it.isNotEmpty() }.joinToString(" · ")) },
                        trailingContent = { if (row.conflicts > 0u) Text("${row.conflicts} to settle") },
                        modifier = Modifier.clickable { onOpen(row.id) },
                    )
                }
            }
        }
    }
}

@Composable
fun SyncBar(status: SyncStatus?) {
    val line = when (status) {
        null -> "Starting…"
        is SyncStatus.Connecting -> "Connecting…"
        is SyncStatus.Offline -> "Offline — changes are kept and sent later"
        is SyncStatus.Syncing -> "Syncing ${status.done} of ${status.total}"
        is SyncStatus.UpToDate -> "Up to date"
        is SyncStatus.Received -> "Up to date"
        is SyncStatus.Erased -> "Up to date"
        is SyncStatus.Uploading -> "Sending photos…"
        is SyncStatus.Problem -> status.reason
    }
    Surface(tonalElevation = 2.dp) { Text(line, Modifier.fillMaxWidth().padding(8.dp)) }
}
