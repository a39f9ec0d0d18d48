// The whole-record check (core/src/check.rs): every field validated and normalised, every
// error collected with its field, before anything is written.
import type { Address, Client, Email, OrgSettings, Phone } from "./generated/fiche"
import { FieldError, type Checked, country, date, email, iban, bic, phone, vatNumber } from "./validate"
import { debug, trim } from "./validate/field"

export type Rules = { defaultRegion: string }

/** What lists show: the display name, or first and last name, or the company name. */
export function displayName(c: Client): string {
  const display = trim(c.name?.display ?? "")
  if (display) return display
  const full = trim(`${trim(c.name?.first ?? "")} ${trim(c.name?.last ?? "")}`)
  return full || trim(c.invoice?.company_name ?? "")
}

class Checker {
  errors: FieldError[] = []
  constructor(readonly rules: Rules) {}

  field(value: string, f: (v: string) => Checked): string {
    const r = f(value)
    if (r.ok) return r.value
    this.errors.push(r.error)
    return value
  }

  optional(value: string | null | undefined, f: (v: string) => Checked): string | null | undefined {
    if (value === null || value === undefined) return value
    if (trim(value) === "") return null
    return this.field(value, f)
  }

  phones(prefix: string, phones: Record<string, Phone> | undefined) {
    for (const [k, p] of Object.entries(phones ?? {})) {
      if (trim(p.number ?? "") === "") {
        delete phones![k]
        continue
      }
      p.number = this.field(p.number ?? "", v => phone(`${prefix}.${k}.number`, v, this.rules.defaultRegion))
      p.label = trim(p.label ?? "")
    }
  }

  emails(prefix: string, emails: Record<string, Email> | undefined) {
    for (const [k, e] of Object.entries(emails ?? {})) {
      if (trim(e.address ?? "") === "") {
        delete emails![k]
        continue
      }
      e.address = this.field(e.address ?? "", v => email(`${prefix}.${k}.address`, v))
      e.label = trim(e.label ?? "")
    }
  }

  address(prefix: string, a: Address | undefined) {
    if (!a) return
    a.street = trim(a.street ?? "")
    a.city = trim(a.city ?? "")
    a.region = trim(a.region ?? "")
    a.postal_code = trim(a.postal_code ?? "")
    if (trim(a.country ?? "") !== "") a.country = this.field(a.country ?? "", v => country(`${prefix}.country`, v))
    else a.country = ""
  }
}

/** Checks and normalises `c` in place; the errors, none when it may be written. */
export function checkClient(c: Client, rules: Rules, settings: OrgSettings): FieldError[] {
  const ck = new Checker(rules)
  const err = (field: string, reason: string) => ck.errors.push(new FieldError(field, reason))
  c.name = c.name ?? {}
  c.name.display = trim(c.name.display ?? "")
  c.name.first = trim(c.name.first ?? "")
  c.name.last = trim(c.name.last ?? "")
  if (c.invoice) c.invoice.company_name = trim(c.invoice.company_name ?? "")
  if (displayName(c) === "") {
    err("name", "a client needs a name: a display name, a first or last name, or a company name")
  }
  c.client_type = trim(c.client_type ?? "").toLowerCase() || "person"
  const types = settings.client_types ?? {}
  if (!(c.client_type in types)) {
    err("client_type", `${debug(c.client_type)} is not a client type of this organisation (known: ${Object.keys(types).sort().join(", ")})`)
  }
  const members = settings.members ?? {}
  if (c.manager && Object.keys(members).length > 0 && !(c.manager in members)) {
    err("manager", `${debug(c.manager)} is not a member of this organisation`)
  }
  c.birthday = ck.optional(c.birthday, v => date("birthday", v))
  ck.phones("phones", c.phones)
  ck.emails("emails", c.emails)
  ck.address("address", c.address)
  if (c.groups) {
    c.groups = Object.fromEntries(
      Object.entries(c.groups)
        .filter(([, on]) => on)
        .map(([g]) => [trim(g), true] as const)
        .filter(([g]) => g !== ""),
    )
  }
  if (c.invoice) c.invoice.vat_number = ck.optional(c.invoice.vat_number, v => vatNumber("invoice.vat_number", v))
  for (const [k, b] of Object.entries(c.banks ?? {})) {
    b.iban = ck.field(b.iban ?? "", v => iban(`banks.${k}.iban`, v))
    b.bic = ck.optional(b.bic, v => bic(`banks.${k}.bic`, v))
  }
  for (const [k, b] of Object.entries(c.bonuses ?? {})) {
    if ((b.value ?? 0) < 0) err(`bonuses.${k}.value`, "a bonus cannot be negative")
  }
  for (const [k, d] of Object.entries(c.discounts ?? {})) {
    if ((d.value ?? 0) < 0 || (d.minimum ?? 0) < 0) err(`discounts.${k}`, "a discount and its minimum cannot be negative")
  }
  for (const [k, s] of Object.entries(c.sites ?? {})) ck.address(`sites.${k}.address`, s.address)
  for (const [k, a] of Object.entries(c.activities ?? {})) {
    a.date = ck.field(a.date ?? "", v => date(`activities.${k}.date`, v))
    if (trim(a.title ?? "") === "") err(`activities.${k}.title`, "an activity needs a title")
  }
  for (const [k, i] of Object.entries(c.installations ?? {})) {
    i.installed_on = ck.optional(i.installed_on, v => date(`installations.${k}.installed_on`, v))
    if (i.site && !(i.site in (c.sites ?? {}))) err(`installations.${k}.site`, `no site ${debug(i.site)} on this client`)
  }
  for (const [k, i] of Object.entries(c.interventions ?? {})) {
    i.date = ck.field(i.date ?? "", v => date(`interventions.${k}.date`, v))
    if (i.installation && !(i.installation in (c.installations ?? {}))) {
      err(`interventions.${k}.installation`, `no installation ${debug(i.installation)} on this client`)
    }
  }
  for (const [k, ct] of Object.entries(c.contracts ?? {})) {
    ct.starts_on = ck.field(ct.starts_on ?? "", v => date(`contracts.${k}.starts_on`, v))
    ct.ends_on = ck.optional(ct.ends_on, v => date(`contracts.${k}.ends_on`, v))
    const start = date("", ct.starts_on ?? "")
    if (ct.ends_on && start.ok && ct.ends_on < start.value) err(`contracts.${k}.ends_on`, "a contract cannot end before it starts")
  }
  for (const [k, i] of Object.entries(c.interests ?? {})) i.on = ck.field(i.on ?? "", v => date(`interests.${k}.on`, v))
  for (const [k, r] of Object.entries(c.renewables ?? {})) {
    for (const [pk, d] of Object.entries(r.purchases ?? {})) {
      r.purchases![pk] = ck.field(d, v => date(`renewables.${k}.purchases.${pk}`, v))
    }
    r.next_due = ck.optional(r.next_due, v => date(`renewables.${k}.next_due`, v))
  }
  if (c.consent) {
    c.consent.on = ck.field(c.consent.on ?? "", v => date("consent.on", v))
    if (trim(c.consent.recorded_by ?? "") === "") err("consent.recorded_by", "say who recorded the consent")
  }
  return ck.errors
}
