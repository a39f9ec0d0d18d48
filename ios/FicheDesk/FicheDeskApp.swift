// The front desk app: the client list, the walk-in form and the client card, all calling the
// Rust core through the generated Swift bindings (FicheStore). No rule lives here.
import SwiftUI

/// Where the sync server is; set by the organisation's installer.
let server = "ws://127.0.0.1:3030"

@main
struct FicheDeskApp: App {
    @StateObject private var desk = Desk()

    var body: some Scene {
        WindowGroup {
            NavigationStack { ClientListView() }
                .environmentObject(desk)
        }
    }
}

/// Screen state around the app's one store; sync status arrives through SyncListener.
final class Desk: ObservableObject, SyncListener {
    let store: FicheStore
    @Published var status: SyncStatus?
    @Published var rows: [ClientRow] = []
    private var query = ""

    init() {
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        store = try! FicheStore.open(path: dir.appendingPathComponent("fiche").path, member: "front-desk", region: "FR")
        try? store.syncStart(server: server, listener: self)
        search("")
    }

    func onStatus(status: SyncStatus) {
        DispatchQueue.main.async {
            self.status = status
            if case .upToDate = status { self.search(self.query) }
            if case .received = status { self.search(self.query) }
            if case .erased = status { self.search(self.query) }
        }
    }

    func search(_ text: String) {
        query = text
        let store = self.store
        DispatchQueue.global(qos: .userInitiated).async {
            let rows = store.list(query: text, offset: 0, limit: 200)
            DispatchQueue.main.async { self.rows = rows }
        }
    }
}
