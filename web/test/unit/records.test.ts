// Records cross between fiche-core and the web client (the Rust side: core/tests/web_fixtures.rs):
// a record written by fiche-core reads here as the JSON the core meant, and a record written
// by this client's own writer is the fixture fiche-core reads and checks.
// FICHE_BLESS=1 rewrites web-client.automerge and web-client.json.
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import * as A from "@automerge/automerge"
import { plain, SCHEMA_VERSION } from "../../src/codec"
import { checkClient, displayName } from "../../src/check"
import { newClient, spliceText, setField } from "../../src/records"
import type { Client } from "../../src/generated/fiche"

const root = process.env.FICHE_WEB_ROOT ?? "."
const dir = `${root}/fixtures/records`
const bless = process.env.FICHE_BLESS === "1"
const settings = { client_types: { person: { label: "Person" }, company: { label: "Company" } } }
const rules = { defaultRegion: "FR" }
const author = { member: "me", device: "web-fixtures", action: "create" }

test("a record written by fiche-core reads as the core meant", () => {
  const doc = A.load(new Uint8Array(readFileSync(`${dir}/core-client.automerge`)))
  const expected = JSON.parse(readFileSync(`${dir}/core-client.json`, "utf8"))
  const read = plain(doc) as Client & { kind: string; schema: number }
  assert.deepEqual(read, expected)
  assert.equal(read.kind, "client")
  assert.equal(read.schema, SCHEMA_VERSION)
  assert.equal(displayName(read), "Chaudières Dupont SARL")
  assert.deepEqual(checkClient(structuredClone(read), rules, settings), [], "the web check accepts it")
})

/** What a person types in the web client's forms, before the check normalises it. */
function typed(): Client {
  return {
    client_type: "Person",
    status: "client",
    name: { display: "", first: " Élodie ", last: "Martin" },
    birthday: "1990-07-14",
    phones: { "00000000-0000-4000-8000-000000000101": { label: "mobile", number: "06 12 34 56 78" } },
    emails: { "00000000-0000-4000-8000-000000000102": { label: "", address: "Elodie.Martin@Example.FR" } },
    address: { street: "3 place Bellecour", city: "Lyon", postal_code: "69002", country: "fr", region: "" },
    groups: { newsletter: true },
    notes: "Met at the fair.",
    invoice: { company_name: "", legal_form: "", vat_number: "fr 40 303 265 045" },
    banks: { "00000000-0000-4000-8000-000000000103": { label: "", holder: "Élodie Martin", iban: "fr76 3000 6000 0112 3456 7890 189", bic: "bnpafrpp" } },
    sites: { "00000000-0000-4000-8000-000000000104": { label: "Home", address: { city: "Lyon", country: "FR" } } },
    activities: { "00000000-0000-4000-8000-000000000105": { kind: "meeting", date: "2024-06-01", title: "First visit", description: "", done: false } },
    renewables: { "00000000-0000-4000-8000-000000000106": { product: "filter", purchases: { "00000000-0000-4000-8000-000000000107": "2024-01-02" }, period_months: 6, next_due: "2024-07-02" } },
    contracts: { "00000000-0000-4000-8000-000000000108": { number: "W-1", starts_on: "2024-01-01", ends_on: null, amount: 4500, currency: "EUR" } },
    files: { "00000000-0000-4000-8000-000000000109": { hash: "ab".repeat(32), size: 5, media_type: "text/plain", name: "note.txt", thumbnail: null } },
    consent: { given: true, on: "2024-06-01", method: "form", recorded_by: "me" },
  }
}

function written(): A.Doc<Record<string, unknown>> {
  const client = typed()
  assert.deepEqual(checkClient(client, rules, settings), [])
  let doc = newClient(client, author)
  // Then edits as the card makes them: one field, a new sub-record, the notes by splicing.
  doc = A.change(doc, d => setField(d, ["address", "city"], "Lyon 2e"))
  doc = A.change(doc, d => setField(d, ["phones", "00000000-0000-4000-8000-000000000110"], { label: "office", number: "+33142685300" }))
  doc = A.change(doc, d => spliceText(d, ["notes"], "Met at the fair.", "Met at the Lyon fair. Call back."))
  return doc
}

test("the web writer lays a record out as the fixture says", () => {
  const doc = written()
  const intended = plain(doc) as Record<string, unknown>
  assert.equal(intended.kind, "client")
  assert.equal(intended.schema, SCHEMA_VERSION)
  assert.equal(intended.notes, "Met at the Lyon fair. Call back.")
  delete intended.kind
  delete intended.schema
  if (bless) {
    writeFileSync(`${dir}/web-client.automerge`, A.save(doc))
    writeFileSync(`${dir}/web-client.json`, JSON.stringify(intended, null, 2) + "\n")
  }
  const committed = A.load(new Uint8Array(readFileSync(`${dir}/web-client.automerge`)))
  const expected = JSON.parse(readFileSync(`${dir}/web-client.json`, "utf8"))
  assert.deepEqual(intended, expected, "the writer changed: bless the fixture and run the Rust side")
  const fromFile = plain(committed) as Record<string, unknown>
  delete fromFile.kind
  delete fromFile.schema
  assert.deepEqual(fromFile, expected)
})

test("concurrent typing in the notes keeps both texts", () => {
  const base = written()
  let a = A.clone(base)
  let b = A.clone(base)
  const before = "Met at the Lyon fair. Call back."
  a = A.change(a, d => spliceText(d, ["notes"], before, "VIP. " + before))
  b = A.change(b, d => spliceText(d, ["notes"], before, before + " Prefers e-mail."))
  const merged = A.merge(a, b)
  assert.equal(plain(merged as unknown as Record<string, unknown>) && (merged as unknown as { notes: string }).notes, "VIP. Met at the Lyon fair. Call back. Prefers e-mail.")
})

test("editing notes around emoji splices whole characters", () => {
  // Before → after, as the textarea reports them: each pair shares a surrogate half at the edge.
  const cases = [
    ["👍👏", "👏"],
    ["x😀😃y", "x😃y"],
    ["a😀b", "a😃b"],
    ["😀", "😃"],
    ["note 👍", "note 👍👍"],
  ]
  for (const [before, after] of cases) {
    let doc = A.change(A.init<{ notes: string }>(), d => {
      d.notes = before
    })
    doc = A.change(doc, d => spliceText(d, ["notes"], before, after))
    assert.equal(doc.notes, after, `${before} → ${after}`)
  }
})
