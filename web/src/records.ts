// Writing records as fiche-core does: one change per action, stamped with its author (the
// commit message is fiche-core's `Author` as JSON, so the history says who did what).
import * as A from "@automerge/automerge/slim"
import type { Client } from "./generated/fiche"
import { newClientDocument, put, write } from "./codec"

export type Author = { member: string; device: string; action: string }

/** fiche-core's `Author::message`: the author as JSON, keys in its field order. */
export const message = (a: Author) => JSON.stringify({ member: a.member, device: a.device, action: a.action })

export const options = (a: Author) => ({ message: message(a), time: Math.floor(Date.now() / 1000) })

/** A new client document (already checked), as one change. */
export function newClient(client: Client, author: Author): A.Doc<Record<string, unknown>> {
  const content = newClientDocument(client)
  return A.change(A.init<Record<string, unknown>>(), options(author), d => {
    for (const [k, v] of Object.entries(content)) write(d, k, v)
  })
}

const isLowSurrogate = (s: string, i: number) => i < s.length && (s.charCodeAt(i) & 0xfc00) === 0xdc00

/** Replaces the collaborative text at `path` with `next` by splicing only what differs, so
 * concurrent typing elsewhere in the text is kept. The edges never split a surrogate pair
 * (an emoji): Automerge holds characters, not halves of one. */
export function spliceText(d: A.Doc<unknown>, path: A.Prop[], before: string, next: string) {
  let start = 0
  while (start < before.length && start < next.length && before[start] === next[start]) start++
  if (start > 0 && (isLowSurrogate(before, start) || isLowSurrogate(next, start))) start--
  let endBefore = before.length
  let endNext = next.length
  while (endBefore > start && endNext > start && before[endBefore - 1] === next[endNext - 1]) {
    endBefore--
    endNext--
  }
  if (isLowSurrogate(before, endBefore) || isLowSurrogate(next, endNext)) {
    endBefore++
    endNext++
  }
  if (endBefore === start && endNext === start) return
  A.splice(d, path, start, endBefore - start, next.slice(start, endNext))
}

/** Sets one field (dotted path under the client) as one change. */
export function setField(d: Record<string, unknown>, path: string[], value: unknown) {
  put(d, path, value)
}
