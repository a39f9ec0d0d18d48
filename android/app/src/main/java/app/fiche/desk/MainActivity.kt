// The front desk app: one activity, three screens (list, walk-in form, client card). Every
// decision (validation, duplicates, storage, sync) is the Rust core's, through FicheStore.
package app.fiche.desk

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.material3.MaterialTheme
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent {
            MaterialTheme {
                val desk: DeskModel = viewModel()
                val nav = rememberNavController()
                NavHost(nav, startDestination = "list") {
                    composable("list") {
                        ClientListScreen(desk, onNew = { nav.navigate("walk-in") }, onOpen = { nav.navigate("client/$it") })
                    }
                    composable("walk-in") {
                        WalkInScreen(desk, onDone = { id -> nav.popBackStack(); nav.navigate("client/$id") })
                    }
                    composable("client/{id}") { entry ->
                        ClientScreen(desk, entry.arguments?.getString("id").orEmpty())
                    }
                }
            }
        }
    }
}
