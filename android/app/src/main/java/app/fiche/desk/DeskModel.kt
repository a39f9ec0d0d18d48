// Screen state around the one FicheStore of the app. It holds what the screens show and
// moves calls off the main thread; it decides nothing itself.
package app.fiche.desk

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import uniffi.fiche_mobile.*

/** Where the sync server is; set by the organisation's installer. */
const val SERVER = "ws://10.0.2.2:3030"

class DeskModel(app: Application) : AndroidViewModel(app) {
    val store: FicheStore = FicheStore.open(app.filesDir.resolve("fiche").path, "front-desk", "FR")

    private val _status = MutableStateFlow<SyncStatus?>(null)
    val status: StateFlow<SyncStatus?> = _status

    private val _rows = MutableStateFlow<List<ClientRow>>(emptyList())
    val rows: StateFlow<List<ClientRow>> = _rows

    private var query = ""

    init {
        store.syncStart(SERVER, object : SyncListener {
            override fun onStatus(status: SyncStatus) {
                _status.value = status
                if (status is SyncStatus.Received || status is SyncStatus.Erased || status is SyncStatus.UpToDate) search(query)
            }
        })
        search("")
    }

    fun search(text: String) {
        query = text
        viewModelScope.launch { _rows.value = io { store.list(text, 0u, 200u) } }
    }

    suspend fun <T> io(block: () -> T): T = withContext(Dispatchers.IO) { block() }

    override fun onCleared() {
        store.syncStop()
    }
}
