// Editing one field of a client: the change is applied to a plain copy, the whole-record
// check runs on it (the same rules as fiche-core), and only a field that passes is written,
// normalised, as one change touching that field alone.
import type { DocumentId } from "@automerge/automerge-repo/slim"
import { put, plain } from "../codec"
import { checkClient } from "../check"
import type { Client } from "../generated/fiche"
import type { Peer } from "../peer"

export const region = () => localStorage.getItem("fiche.region") || "FR"

export function getAt(obj: unknown, path: readonly string[]): unknown {
  let o = obj as Record<string, unknown> | undefined
  for (const k of path) o = o?.[k] as Record<string, unknown> | undefined
  return o
}

export function setAt(obj: Record<string, unknown>, path: readonly string[], value: unknown) {
  let o = obj
  for (const k of path.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== "object") o[k] = {}
    o = o[k] as Record<string, unknown>
  }
  o[path[path.length - 1]] = value
}

/** Whether a check error is about the field at `path` (or a record it belongs to). */
export function concerns(errorField: string, path: readonly string[]): boolean {
  const p = path.join(".")
  return errorField === p || p.startsWith(errorField + ".") || errorField.startsWith(p + ".")
}

/** The client as plain JSON, or undefined when not loaded. */
export function clientOf(peer: Peer, id: DocumentId): Client | undefined {
  const doc = peer.doc(id)
  return doc ? (plain(doc) as Client) : undefined
}

/**
 * Sets `path` to `value` if the record still passes the check; returns the reason it was
 * refused (nothing is written then). An unchanged value is not written, unless `always`
 * (picking a conflict's current value still writes it, which is what settles the conflict).
 */
export function commit(peer: Peer, id: DocumentId, path: readonly string[], value: unknown, action = "edit", always = false): string | undefined {
  const copy = clientOf(peer, id)
  if (!copy) return "this client is not loaded"
  const before = JSON.stringify(getAt(copy, path) ?? null)
  setAt(copy as Record<string, unknown>, path, value)
  const errors = checkClient(copy, { defaultRegion: region() }, peer.settings)
  const mine = errors.find(e => concerns(e.field, path))
  if (mine) return mine.reason
  const normalised = getAt(copy, path) ?? null
  if (!always && JSON.stringify(normalised) === before) return undefined
  peer.change(id, action, d => {
    // Writing the value already shown may change nothing (in the browser it did not, on a
    // field fiche-core wrote), so a conflict is settled by deleting the field (every
    // concurrent value) before writing the one picked.
    if (always) deleteAt(d, path)
    put(d, path, normalised)
  })
  return undefined
}

function deleteAt(d: Record<string, unknown>, path: readonly string[]) {
  const parent = getAt(d, path.slice(0, -1)) as Record<string, unknown> | undefined
  if (parent) delete parent[path[path.length - 1]]
}

/** Removes a sub-record or set member. */
export function remove(peer: Peer, id: DocumentId, path: readonly string[]) {
  peer.change(id, "edit", d => deleteAt(d, path))
}

export const today = () => new Date().toISOString().slice(0, 10)
export const newKey = () => crypto.randomUUID()
