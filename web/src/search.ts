// What the list shows and the search matches (core/src/index), and the duplicate warnings
// (core/src/duplicates.rs): folded names, E.164 phones, lower-case e-mails.
import { isImmutableString } from "@automerge/automerge/slim"
import type { Client } from "./generated/fiche"
import { displayName } from "./check"

export type Summary = {
  id: string
  name: string
  status: string
  clientType: string
  archived: boolean
  city: string
  phones: string[]
  emails: string[]
  groups: string[]
  /** Folded words of the name, sorted: what duplicate detection compares. */
  nameKey: string
  /** Folded name, phones (and their digits), e-mails, city and groups, for matching words. */
  haystack: string
}

const str = (v: unknown): string => (isImmutableString(v) ? v.val : typeof v === "string" ? v : "")

/** Lower case without accents (the core's `fold`: NFKD, combining marks dropped). */
export function fold(s: string): string {
  return s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase()
}

/** Folded words of a name, sorted, so "Dupont Marie" and "Marie Dupont" compare equal. */
export function nameKey(name: string): string {
  return fold(name)
    .split(/[^\p{L}\p{N}]+/u)
    .filter(w => w !== "")
    .sort()
    .join(" ")
}

/** The summary of a client document, read straight from it (no full conversion). */
export function summarise(id: string, doc: Record<string, unknown>): Summary {
  const d = doc as Record<string, any>
  const name = displayName({
    name: { display: str(d.name?.display), first: str(d.name?.first), last: str(d.name?.last) },
    invoice: { company_name: str(d.invoice?.company_name) },
  } as Client)
  const phones = Object.values(d.phones ?? {}).map((p: any) => str(p?.number)).filter(Boolean)
  const emails = Object.values(d.emails ?? {}).map((e: any) => str(e?.address).toLowerCase()).filter(Boolean)
  const groups = Object.entries(d.groups ?? {}).filter(([, on]) => on === true).map(([g]) => g)
  const city = str(d.address?.city)
  return make(id, name, str(d.status) || "prospect", str(d.client_type), d.archived === true, city, phones, emails, groups)
}

/** The index entry fiche-core keeps for a client (its `Summary`, as `/api/clients` lists them). */
export type IndexEntry = {
  id: string
  name: string
  client_type: string
  status: string
  archived: boolean
  city: string
  groups: string[]
  phones: string[]
  emails: string[]
}

/** The summary of a client from its index entry, as `summarise` makes it from the document. */
export function fromIndex(e: IndexEntry): Summary {
  return make(e.id, e.name, e.status || "prospect", e.client_type, e.archived, e.city, e.phones, e.emails.map(m => m.toLowerCase()), e.groups)
}

function make(
  id: string,
  name: string,
  status: string,
  clientType: string,
  archived: boolean,
  city: string,
  phones: string[],
  emails: string[],
  groups: string[],
): Summary {
  const digits = phones.map(p => p.replace(/\D/g, ""))
  return {
    id,
    name,
    status,
    clientType,
    archived,
    city,
    phones,
    emails,
    groups,
    nameKey: nameKey(name),
    haystack: fold([name, ...phones, ...digits, ...emails, city, ...groups, status].join("\u0001")),
  }
}

/** Clients whose summary holds every word of `query`, in name order; archived ones only if asked. */
export function search(all: Iterable<Summary>, query: string, includeArchived = false): Summary[] {
  const words = fold(query).split(/\s+/).filter(Boolean)
  const out: Summary[] = []
  for (const s of all) {
    if (s.archived && !includeArchived) continue
    if (words.every(w => s.haystack.includes(w) || (/^[\d+ ().-]+$/.test(w) && s.haystack.includes(w.replace(/\D/g, ""))))) {
      out.push(s)
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** Names at least this similar (Jaro-Winkler on folded, sorted words) are reported. */
export const NAME_SIMILARITY = 0.92

function jaro(a: string, b: string): number {
  const s = [...a]
  const t = [...b]
  if (s.length === 0 && t.length === 0) return 1
  if (s.length === 0 || t.length === 0) return 0
  const window = Math.max(0, Math.floor(Math.max(s.length, t.length) / 2) - 1)
  const sMatch = new Array(s.length).fill(false)
  const tMatch = new Array(t.length).fill(false)
  let matches = 0
  for (let i = 0; i < s.length; i++) {
    for (let j = Math.max(0, i - window); j < Math.min(t.length, i + window + 1); j++) {
      if (!tMatch[j] && s[i] === t[j]) {
        sMatch[i] = tMatch[j] = true
        matches++
        break
      }
    }
  }
  if (matches === 0) return 0
  let transpositions = 0
  let j = 0
  for (let i = 0; i < s.length; i++) {
    if (!sMatch[i]) continue
    while (!tMatch[j]) j++
    if (s[i] !== t[j]) transpositions++
    j++
  }
  return (matches / s.length + matches / t.length + (matches - transpositions / 2) / matches) / 3
}

/** Jaro-Winkler similarity, as strsim's `jaro_winkler`. */
export function jaroWinkler(a: string, b: string): number {
  const sim = jaro(a, b)
  if (sim <= 0.7) return sim
  let prefix = 0
  const s = [...a]
  const t = [...b]
  while (prefix < Math.min(4, s.length, t.length) && s[prefix] === t[prefix]) prefix++
  return sim + prefix * 0.1 * (1 - sim)
}

export type Duplicate = { id: string; name: string; reasons: string[] }

/** Existing clients that look like `candidate` (same phone, same e-mail, similar name). */
export function duplicates(all: Iterable<Summary>, candidate: Summary, except?: string): Duplicate[] {
  const out: Duplicate[] = []
  for (const s of all) {
    if (s.id === except) continue
    const reasons: string[] = []
    for (const p of s.phones) if (candidate.phones.includes(p)) reasons.push(`same phone ${p}`)
    for (const m of s.emails) if (candidate.emails.includes(m)) reasons.push(`same e-mail ${m}`)
    const [la, lb] = [[...candidate.nameKey].length, [...s.nameKey].length]
    if (la > 0 && lb > 0 && Math.min(la, lb) * 10 >= Math.max(la, lb) * 6) {
      const score = jaroWinkler(candidate.nameKey, s.nameKey)
      if (score >= NAME_SIMILARITY) reasons.push(`similar name (${Math.round(score * 100)} %)`)
    }
    if (reasons.length > 0) out.push({ id: s.id, name: s.name, reasons })
  }
  return out.sort((a, b) => b.reasons.length - a.reasons.length || (a.name < b.name ? -1 : 1))
}
