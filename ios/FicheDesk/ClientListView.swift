// The client list: search as you type, a sync status bar, a button for a walk-in.
import SwiftUI

struct ClientListView: View {
    @EnvironmentObject var desk: Desk
    @State private var text = ""

    var body: some View {
        List(desk.rows, id: \.id) { row in
            NavigationLink(destination: ClientView(id: row.id)) {
                VStack(alignment: .leading) {
                    Text(row.name)
                    Text([row.city, row.phones.first ?? ""].filter { !$0.isEmpty }.joined(separator: " · "))
                        .font(.caption).foregroundStyle(.secondary)
                }
            }
        }
        .searchable(text: $text, prompt: "Name, phone, e-mail, city")
        .onChange(of: text) { desk.search($0) }
        .navigationTitle("Clients")
        .toolbar { NavigationLink("New", destination: WalkInView()) }
        .safeAreaInset(edge: .bottom) { Text(statusLine).font(.footnote).padding(6) }
    }

    private var statusLine: String {
        switch desk.status {
        case .none: return "Starting…"
        case .connecting: return "Connecting…"
        case .offline: return "Offline — changes are kept and sent later"
        case let .syncing(done, total): return "Syncing \(done) of \(total)"
        case .upToDate, .received, .erased: return "Up to date"
        case .uploading: return "Sending photos…"
        case let .problem(reason): return reason
        }
    }
}
