// A client's card: photo preview, the form's fields, contacts, sites and interventions.
import SwiftUI

struct ClientView: View {
    @EnvironmentObject var desk: Desk
    let id: String
    @State private var card: ClientCard?
    @State private var preview: UIImage?

    var body: some View {
        List {
            if let card {
                if let preview { Image(uiImage: preview).resizable().scaledToFit().frame(height: 128) }
                section("Phone", [card.form.phone])
                section("E-mail", [card.form.email])
                section("Groups", card.form.groups)
                section("Company", [card.form.companyName, card.form.vatNumber])
                section("Contacts", card.contacts.map { "\($0.role) (\($0.id.prefix(8)))" })
                section("Sites", card.sites)
                section("Interventions", card.interventions)
                section("Notes", [card.form.notes])
            }
        }
        .navigationTitle(card?.name ?? "")
        .task {
            card = try? desk.store.client(id: id)
            guard let thumbnail = card?.photo?.thumbnail else { return }
            var bytes = try? desk.store.file(hash: thumbnail)
            if bytes == nil { bytes = try? await desk.store.fetchFile(server: server, hash: thumbnail) }
            preview = bytes.flatMap { UIImage(data: $0) }
        }
    }

    @ViewBuilder private func section(_ title: String, _ lines: [String]) -> some View {
        let shown = lines.filter { !$0.isEmpty }
        if !shown.isEmpty {
            Section(title) { ForEach(shown, id: \.self) { Text($0) } }
        }
    }
}
