// Fields two people wrote concurrently (core/src/conflicts.rs): Automerge shows one value
// everywhere, the others stay visible here until someone picks.
import { getConflicts, isImmutableString, type Doc } from "@automerge/automerge/slim"
import { plain } from "./codec"

export type Conflict = { path: string; current: unknown; others: unknown[] }

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !isImmutableString(v) && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** Every conflicted field of a document, by dotted path. */
export function conflicts(doc: Doc<unknown>): Map<string, Conflict> {
  const out = new Map<string, Conflict>()
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const key of Object.keys(obj)) {
      const path = prefix ? `${prefix}.${key}` : key
      const all = getConflicts(obj as Doc<unknown>, key)
      if (all && Object.keys(all).length > 1) {
        const current = plain(obj[key])
        const others = Object.values(all)
          .map(v => plain(v))
          .filter(v => !same(v, current))
        if (others.length > 0) out.set(path, { path, current, others })
      }
      const child = obj[key]
      if (isMap(child)) walk(child, path)
    }
  }
  walk(doc as Record<string, unknown>, "")
  return out
}
