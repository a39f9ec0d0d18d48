// What of this browser's work the server does not hold yet. Per document: whether the server's
// heads, as automerge-repo's sync state with the server knows them, include the local heads
// (before any sync this visit, the heads the sync state kept in IndexedDB says both shared, and
// only changes made here since then count: that state is saved late, so changes received from
// the server may lie past it);
// and the changes the server refused (`error` with the `documentId`), with its reason, kept in
// localStorage across reloads until dropped here or taken by the server after all.
import { Automerge as A, type DocumentId, type Repo, type StorageId, encodeHeads } from "@automerge/automerge-repo/slim"

/** How the browser's work stands with the server, in documents. */
export type Backlog = {
  /** Documents with a local change the server does not hold yet (not refused). */
  waiting: number
  /** Documents with a local change the server refused. */
  refused: number
}

const REFUSED = "fiche.refused"
const SERVER = "fiche.server-storage"

export class Unsent {
  private readonly refusals: Map<DocumentId, string>
  private readonly unsent = new Set<DocumentId>()
  /** The server's heads as the sync state kept in IndexedDB has them (an offline start). */
  private readonly stored = new Map<DocumentId, { encoded: string[]; raw: A.Heads }>()
  private server = (localStorage.getItem(SERVER) ?? undefined) as StorageId | undefined
  private due = new Set<DocumentId>()
  /** Documents whose kept sync state was read, or is being read (not judged before it is). */
  private readonly read = new Map<DocumentId, "reading" | "read">()

  /** `changed` is told of every document whose standing changed; `online` says whether the
   * server is connected (offline, the kept sync state stands in for the server's answer);
   * `mine` whether a change's message names this browser as its author. */
  constructor(
    private readonly repo: Repo,
    private readonly online: () => boolean,
    private readonly changed: (id: DocumentId) => void,
    private readonly mine: (message: string | null) => boolean,
  ) {
    let kept: Record<string, string> = {}
    try {
      kept = JSON.parse(localStorage.getItem(REFUSED) ?? "{}") as Record<string, string>
    } catch {
      // A damaged copy: the server refuses those changes again when they are sent again.
    }
    this.refusals = new Map(Object.entries(kept) as [DocumentId, string][])
  }

  /** The server this browser syncs with (its storage id, from its `peer` message). */
  serverIs(storageId: StorageId | undefined) {
    if (!storageId || storageId === this.server) return
    this.server = storageId
    localStorage.setItem(SERVER, storageId)
  }

  /** Why the server refused this browser's change to `id`, if it did. */
  reason(id: DocumentId): string | undefined {
    return this.refusals.get(id)
  }

  /** Every refusal's reason (the settings' too, which have no card). */
  reasons(): string[] {
    return [...this.refusals.values()]
  }

  /** The server refused the local changes to `id`, saying `reason`. */
  refuse(id: DocumentId, reason: string) {
    this.refusals.set(id, reason)
    this.save()
    this.unsent.add(id)
    this.changed(id)
  }

  /** Forgets `id` (its local copy dropped or erased). */
  forget(id: DocumentId) {
    const was = this.refusals.has(id) || this.unsent.has(id)
    this.refusals.delete(id)
    this.unsent.delete(id)
    this.stored.delete(id)
    this.read.delete(id)
    this.save()
    if (was) this.changed(id)
  }

  /** Reads again, once the current task is over, whether the server holds `id`'s local changes
   * (a received change is announced before the handle holds it). */
  settle(id: DocumentId) {
    if (this.due.size === 0) queueMicrotask(() => this.settleDue())
    this.due.add(id)
  }

  private settleDue() {
    const due = this.due
    this.due = new Set()
    for (const id of due) this.settleNow(id)
  }

  private settleNow(id: DocumentId) {
    const handle = this.repo.handles[id]
    if (!handle?.isReady() || this.read.get(id) === "reading") return
    const live = this.server && handle.getSyncInfo(this.server)?.lastHeads
    if (!live && !this.online() && !this.read.has(id)) return void this.readStored(id)
    const local = handle.heads()
    const kept = this.stored.get(id)
    // Offline, with no sync state kept (never saved for that document), every change made
    // here counts as unsent.
    const held = live
      ? local.every(h => live.includes(h))
      : (kept !== undefined && local.every(h => kept.encoded.includes(h))) || !this.madeHereSince(handle.doc(), kept?.raw ?? [])
    const was = this.unsent.has(id)
    if (held) {
      this.unsent.delete(id)
      if (this.refusals.delete(id)) this.save()
    } else this.unsent.add(id)
    if (was === held) this.changed(id)
  }

  /** Reads the server's heads of `id` from the sync state kept in IndexedDB, then settles it. */
  private async readStored(id: DocumentId) {
    this.read.set(id, "reading")
    const state = this.server ? await this.repo.storageSubsystem?.loadSyncState(id, this.server).catch(() => undefined) : undefined
    if (state) this.stored.set(id, { encoded: encodeHeads(state.sharedHeads), raw: state.sharedHeads })
    this.read.set(id, "read")
    this.settle(id)
  }

  /** Whether `doc` holds a change made here past the heads `since`. */
  private madeHereSince(doc: A.Doc<unknown> | undefined, since: A.Heads): boolean {
    if (!doc) return true
    try {
      return A.getChangesMetaSince(doc, since).some(c => this.mine(c.message))
    } catch {
      return true
    }
  }

  backlog(): Backlog {
    let waiting = 0
    for (const id of this.unsent) if (!this.refusals.has(id)) waiting++
    return { waiting, refused: this.refusals.size }
  }

  private save() {
    try {
      localStorage.setItem(REFUSED, JSON.stringify(Object.fromEntries(this.refusals)))
    } catch {
      // Storage full: the refusal shows until the page goes, and again when sent again.
    }
  }
}
