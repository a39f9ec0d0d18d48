// The walk-in form, with the duplicate warning updated while typing and a photo from the
// camera (the system picker); field errors come from the core, by field.
import SwiftUI

struct WalkInView: View {
    @EnvironmentObject var desk: Desk
    @Environment(\.dismiss) private var dismiss
    @State private var form = WalkIn(clientType: "person", firstName: "", lastName: "", companyName: "", vatNumber: "",
                                      phone: "", email: "", birthday: "", groups: [], notes: "", consent: false)
    @State private var problems: [FieldProblem] = []
    @State private var similar: [DuplicateMatch] = []
    @State private var photo: Data?
    @State private var camera = false

    var body: some View {
        Form {
            Picker("Type", selection: $form.clientType) {
                ForEach((try? desk.store.settings().clientTypes) ?? [], id: \.self) { Text($0) }
            }
            field("First name", $form.firstName, "name")
            field("Last name", $form.lastName, "name")
            field("Phone", $form.phone, "phones")
            field("E-mail", $form.email, "emails")
            field("Birthday (YYYY-MM-DD)", $form.birthday, "birthday")
            field("Company (invoices)", $form.companyName, "invoice.company_name")
            field("VAT number", $form.vatNumber, "invoice.vat_number")
            field("Notes", $form.notes, "notes")
            Toggle("The client agrees to the processing of their data", isOn: $form.consent)
            if !similar.isEmpty {
                Section("Already filed?") {
                    ForEach(similar, id: \.id) { Text("\($0.name) — \($0.reasons.joined(separator: ", "))") }
                }
            }
            Button(photo == nil ? "Take photo" : "Retake photo") { camera = true }
            Button("Save", action: save)
        }
        .navigationTitle("New client")
        .onChange(of: form) { form in similar = desk.store.similar(form: form) }
        .sheet(isPresented: $camera) { CameraPicker(photo: $photo) }
    }

    private func field(_ label: String, _ value: Binding<String>, _ path: String) -> some View {
        VStack(alignment: .leading) {
            TextField(label, text: value)
            if let problem = problems.first(where: { $0.field == path || $0.field.hasPrefix(path + ".") }) {
                Text(problem.reason).font(.caption).foregroundStyle(.red)
            }
        }
    }

    private func save() {
        do {
            let created = try desk.store.createClient(form: form)
            if let photo { _ = try desk.store.setPhoto(id: created.id, bytes: photo, fileName: "walk-in.jpg") }
            desk.search("")
            dismiss()
        } catch let FicheError.Invalid(problems) {
            self.problems = problems
        } catch {
            problems = [FieldProblem(field: "", reason: "\(error)")]
        }
    }
}
