// The web client's validators against the fixtures fiche-core is checked against too
// (core/tests/web_fixtures.rs): same normalised values, same messages.
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { bic, country, date, email, iban, phone, vatNumber, type Checked } from "../../src/validate"

const root = process.env.FICHE_WEB_ROOT ?? "."
const fx = JSON.parse(readFileSync(`${root}/fixtures/validation.json`, "utf8"))

type Case = { check: string; input: string; region?: string; ok?: string; error?: string }

function run(c: Case, field: string): Checked {
  switch (c.check) {
    case "phone": return phone(field, c.input, c.region ?? "FR")
    case "email": return email(field, c.input)
    case "iban": return iban(field, c.input)
    case "bic": return bic(field, c.input)
    case "vat": return vatNumber(field, c.input)
    case "country": return country(field, c.input)
    case "date": return date(field, c.input)
  }
  throw new Error(`unknown check ${c.check}`)
}

for (const check of ["phone", "email", "iban", "bic", "vat", "country", "date"]) {
  test(`${check}: the same answers as fiche-core`, () => {
    const field = fx.fields[check]
    const wrong: string[] = []
    for (const c of (fx.cases as Case[]).filter(c => c.check === check)) {
      const got = run(c, field)
      const gotText = got.ok ? `ok ${JSON.stringify(got.value)}` : `error ${JSON.stringify(got.error.reason)}`
      const want = c.ok !== undefined ? `ok ${JSON.stringify(c.ok)}` : `error ${JSON.stringify(c.error)}`
      if (!got.ok) assert.equal(got.error.field, field)
      if (gotText !== want) wrong.push(`${JSON.stringify(c.input)}${c.region ? ` (${c.region})` : ""}: core ${want}\n      web  ${gotText}`)
    }
    assert.equal(wrong.length, 0, `${wrong.length} cases differ:\n` + wrong.join("\n"))
  })
}
