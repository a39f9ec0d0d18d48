// The browser as a Fiche peer: an automerge-repo Repo with IndexedDB storage (records stay
// readable and editable with the server down) and the WebSocket adapter to fiche-server.
// Every client is found through the organisation's directory (a well-known document listing
// every record id and its kind); each client document is kept open so the server pushes its
// changes, and a summary of it feeds the list and the search. Until a client is loaded, the
// list shows the index entry the server lists for it (`/api/clients`): a fresh browser lists
// 10,000 clients at once instead of as they sync. The last listing is kept (Cache Storage), so
// a reload, offline too, lists them before any document loads.
import {
  Repo,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
  type Message,
  type PeerId,
  cbor,
  stringifyAutomergeUrl,
  Automerge as A,
} from "@automerge/automerge-repo/slim"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb"
import { ImmutableString, Uint } from "@automerge/automerge/slim"
import { DIRECTORY_ID, SCHEMA_VERSION, SETTINGS_ID, defaults, plain } from "./codec"
import type { Client, OrgSettings } from "./generated/fiche"
import { type Author, newClient, options } from "./records"
import { type IndexEntry, type Summary, fromIndex, summarise } from "./search"
import { type Role, mayCreate, mayEdit } from "./roles"
import { LISTING_CACHE, type Me } from "./session"
import { type Backlog, Unsent } from "./unsent"

export type Doc = Record<string, unknown>

export type SyncState = {
  /** Whether the server is connected. */
  online: boolean
  /** Clients the directory lists, and how many of them are loaded here (the others are
   * listed from the server's index entries until they are). */
  listed: number
  loaded: number
  /** The server refuses this browser's token (revoked, or unknown): a new sign-in is needed. */
  refused: boolean
  /** The member's role, as the server last said (`/api/me`). */
  role: Role
}

/** What the member's role lets the page offer (it has no settings editor: fiche-core's
 * `may_manage` is `roles.mayManage` when one comes). */
export type Rights = { edit: boolean; create: boolean }

export type Session = {
  wsUrl: string
  member: string
  device: string
  /** Whether the server now refuses this browser's token (asked before each connection try). */
  refused?: () => Promise<boolean>
  /** The member's role as last known, and how to ask the server again (`/api/me`). */
  role: Role
  me?: () => Promise<Me | undefined>
}

const urlOf = (id: string) => `automerge:${id}` as AutomergeUrl

/** The last client listing's cache (Cache Storage; absent outside secure contexts). */
const openListingCache = () => (typeof caches === "undefined" ? Promise.resolve(undefined) : caches.open(LISTING_CACHE).catch(() => undefined))

/** automerge-repo's WebSocket client, except that a retry leaves a socket still in its
 * handshake alone: the library opens a new one at every retry tick, dropping the last, so on a
 * link whose handshake takes longer than the tick it never connects. */
class PatientWebSocketAdapter extends WebSocketClientAdapter {
  private stopped = false
  private asking = false

  /** `refused` says whether the server refuses this browser's token: a browser cannot read
   * why a WebSocket failed, so each try asks first, and `onRefused` is told instead of
   * trying (each try would also count as a bad token from this address). */
  constructor(
    url: string,
    retryMs: number,
    private readonly refused: () => Promise<boolean>,
    private readonly onRefused: () => void,
    private readonly onChangesRefused: (id: DocumentId, reason: string) => void,
  ) {
    super(url, retryMs)
  }

  /** An `error` naming a document refuses this browser's changes to it alone (fiche-server):
   * the connection goes on. The library's own reading takes the rest (peer, other errors). */
  receiveMessage(bytes: Uint8Array) {
    let message: { type?: unknown; documentId?: unknown; message?: unknown }
    try {
      message = cbor.decode(new Uint8Array(bytes))
    } catch {
      return super.receiveMessage(bytes)
    }
    if (message?.type === "error" && typeof message.documentId === "string") {
      this.onChangesRefused(message.documentId as DocumentId, String(message.message ?? "refused"))
    } else if (message?.type === "peer" || message?.type === "error") super.receiveMessage(bytes)
    else this.emit("message", message as Message)
  }

  connect(...args: Parameters<WebSocketClientAdapter["connect"]>) {
    if (this.stopped || this.asking || this.socket?.readyState === WebSocket.CONNECTING) return
    this.asking = true
    // A check that hangs (a link that drops packets) must not hold the try back for long.
    const unsure = new Promise<boolean>(r => setTimeout(() => r(false), 3000))
    void Promise.race([this.refused(), unsure])
      .catch(() => false)
      .then(refused => {
        this.asking = false
        if (refused) this.onRefused()
        else if (!this.stopped) super.connect(...args)
      })
  }

  /** No more tries. */
  stop() {
    this.stopped = true
    if (this.socket && this.peerId) this.disconnect()
  }
}

/** How many documents are asked for at once while loading the directory's list. */
const WINDOW = 512

export class Peer {
  readonly repo: Repo
  readonly summaries = new Map<DocumentId, Summary>()
  readonly handles = new Map<DocumentId, DocHandle<Doc>>()
  settings: OrgSettings = defaults({ $ref: "#/$defs/OrgSettings" }) as OrgSettings
  state: SyncState
  /** The local changes the server does not hold yet, or refused. */
  readonly unsent: Unsent
  /** Bumped on every change to the summaries or the state (what the list recomputes on). */
  revision = 0
  private directory?: DocHandle<Doc>
  private listeners = new Set<() => void>()
  private docListeners = new Map<DocumentId, Set<() => void>>()
  private queue: DocumentId[] = []
  private queued = new Set<DocumentId>()
  private inFlight = 0
  private notifyScheduled = false
  private peers = new Set<string>()
  /** Records erased on the server while this page ran: never listed nor asked for again. */
  readonly erased = new Set<DocumentId>()

  private readonly socket: PatientWebSocketAdapter
  private settingsRead = false
  /** Rewrites of the kept listing, one after another. */
  private keptWrites: Promise<void> = Promise.resolve()

  constructor(readonly session: Session) {
    this.state = { online: false, listed: 0, loaded: 0, refused: false, role: session.role }
    this.socket = new PatientWebSocketAdapter(
      session.wsUrl,
      2000,
      session.refused ?? (async () => false),
      () => this.setRefused(),
      (id, reason) => this.unsent.refuse(id, reason),
    )
    this.repo = new Repo({
      storage: new IndexedDBStorageAdapter("fiche"),
      network: [this.socket],
      peerId: `web-${session.device}-${Math.random().toString(36).slice(2, 8)}` as PeerId,
      sharePolicy: async () => true,
    })
    const mine = (message: string | null) => {
      try {
        return (JSON.parse(message ?? "{}") as Partial<Author>).device === session.device
      } catch {
        return false
      }
    }
    this.unsent = new Unsent(this.repo, () => this.state.online, id => this.docChanged(id), mine)
    this.repo.synchronizer.on("sync-state", ({ documentId }) => this.unsent.settle(documentId))
    this.repo.networkSubsystem.on("peer", ({ peerId, peerMetadata }) => {
      this.peers.add(peerId)
      this.unsent.serverIs(peerMetadata?.storageId)
      this.setOnline()
      void this.readRole()
      // What could not load while offline is asked for again now that the server is here.
      if (this.directory) this.readDirectory()
      if (!this.settingsRead) void this.loadSettings()
    })
    // fiche-server marks the `doc-unavailable` of an erased record (GDPR): the official
    // client ignores the mark, so it is read here.
    this.repo.networkSubsystem.on("message", message => {
      if (message.type === "doc-unavailable" && (message as { erased?: unknown }).erased === true) void this.erase(message.documentId)
    })
    this.repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
      this.peers.delete(peerId)
      this.setOnline()
    })
  }

  private setOnline() {
    this.state = { ...this.state, online: this.peers.size > 0 }
    this.changed()
  }

  /** Asks the server for the member's role (each connection: an admin may have changed it). */
  private async readRole() {
    const me = await this.session.me?.()
    if (!me || me.role === this.state.role) return
    this.state = { ...this.state, role: me.role }
    this.changed()
  }

  /** What the member's role lets the page offer. */
  rights(): Rights {
    const r = this.state.role
    return { edit: mayEdit(r), create: mayCreate(r) }
  }

  /** Documents with local changes the server does not hold yet, or refused. */
  backlog(): Backlog {
    return this.unsent.backlog()
  }

  /** Re-reads `handle`'s standing with the server whenever its heads change. */
  private follow(handle: DocHandle<Doc>) {
    handle.on("heads-changed", () => this.unsent.settle(handle.documentId))
    this.unsent.settle(handle.documentId)
  }

  /** Tells the card of `id` and the list that something of it changed. */
  private docChanged(id: DocumentId) {
    for (const f of this.docListeners.get(id) ?? []) f()
    this.changed()
  }

  private setRefused() {
    if (this.state.refused) return
    this.state = { ...this.state, refused: true }
    this.socket.stop()
    this.changed()
  }

  author(action: string): Author {
    return { member: this.session.member, device: this.session.device, action }
  }

  /** Calls `f` (at most once a frame) whenever the list, a summary or the sync state changes. */
  subscribe(f: () => void): () => void {
    this.listeners.add(f)
    return () => this.listeners.delete(f)
  }

  /** Calls `f` whenever the document `id` changes (here or remotely). */
  watch(id: DocumentId, f: () => void): () => void {
    let set = this.docListeners.get(id)
    if (!set) this.docListeners.set(id, (set = new Set()))
    set.add(f)
    return () => set!.delete(f)
  }

  private changed() {
    this.revision++
    if (this.notifyScheduled) return
    this.notifyScheduled = true
    const run = () => {
      this.notifyScheduled = false
      for (const f of this.listeners) f()
    }
    if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible") requestAnimationFrame(run)
    else setTimeout(run, 16)
  }

  /** Opens the directory (from IndexedDB, else from the server) and follows it. */
  async start() {
    // The listing kept from the last visit first, before the documents' loading fills the
    // event loop; the server's is fetched meanwhile.
    const kept = await openListingCache()
    await this.showKeptListing(kept)
    void this.loadListing(kept)
    this.directory = await this.findOrCreateDirectory()
    this.follow(this.directory)
    this.directory.on("change", () => this.readDirectory())
    this.readDirectory()
    void this.loadSettings()
  }

  private async findOrCreateDirectory(): Promise<DocHandle<Doc>> {
    for (;;) {
      try {
        return await this.repo.find<Doc>(urlOf(DIRECTORY_ID), { signal: AbortSignal.timeout(10_000) })
      } catch {
        // Unavailable here and on the server (a fresh server and a fresh browser): start it.
        // Entries live at the root, so directories started apart merge into one list.
        if (this.state.online) {
          const doc = A.change(A.init<Doc>(), { message: "directory" }, d => {
            d.kind = new ImmutableString("directory")
            d.schema = new Uint(SCHEMA_VERSION)
          })
          return this.repo.import<Doc>(A.save(doc), { docId: DIRECTORY_ID as DocumentId })
        }
        // Offline, an unavailable document is refused at once: wait before asking again, or
        // this loop would never let the page (and the connection that brings it) run.
        await new Promise(r => setTimeout(r, 500))
      }
    }
  }

  /** Where the server lists the clients; with the token, so that it also keys the kept copy
   * (another sign-in never sees this one's listing). */
  private listingUrl(): string {
    const url = new URL(this.session.wsUrl)
    url.protocol = url.protocol === "wss:" ? "https:" : "http:"
    url.pathname = "/api/clients"
    return url.href
  }

  /** Lists the clients of the listing kept from the last visit (offline too). */
  private async showKeptListing(kept: Cache | undefined) {
    try {
      const last = await kept?.match(this.listingUrl())
      if (last) this.list((await last.json()) as IndexEntry[], false)
    } catch {
      // A damaged copy: the server's listing replaces it.
    }
  }

  /** Lists the clients the server lists, where no loaded document says better, and keeps the
   * listing for the next visit. Offline, the kept one stands; refused, the list fills as the
   * documents load instead. */
  private async loadListing(kept: Cache | undefined) {
    const url = this.listingUrl()
    try {
      const r = await fetch(url, { cache: "no-store" })
      if (r.status === 401 || r.status === 403) this.setRefused()
      if (!r.ok) return
      const entries = (await r.json()) as IndexEntry[]
      this.keep(kept, () => entries)
      this.list(entries, true)
    } catch {
      // Offline: the kept listing, if any, stands.
    }
  }

  /** Shows index entries for the clients not loaded yet; the server's own (`current`) also
   * drops those a kept listing had that it no longer lists. */
  private list(entries: IndexEntry[], current: boolean) {
    const listed = new Set<DocumentId>()
    for (const e of entries) {
      const id = e.id as DocumentId
      listed.add(id)
      if (!this.handles.has(id) && !this.erased.has(id)) this.summaries.set(id, fromIndex(e))
    }
    if (current) {
      for (const id of [...this.summaries.keys()]) {
        if (!listed.has(id) && !this.handles.has(id)) this.summaries.delete(id)
      }
    }
    this.changed()
  }

  /** A record erased on the server: its copy here goes, history and all (IndexedDB and the
   * kept listing included), and it leaves the list and any open card. */
  private async erase(id: DocumentId) {
    if (this.erased.has(id)) return
    this.erased.add(id)
    this.handles.delete(id)
    this.summaries.delete(id)
    this.queued.delete(id)
    const at = this.queue.indexOf(id)
    if (at >= 0) this.queue.splice(at, 1)
    void this.deleteHere(id)
    this.unsent.forget(id)
    this.state = { ...this.state, loaded: this.handles.size }
    for (const f of this.docListeners.get(id) ?? []) f()
    this.docListeners.delete(id)
    this.changed()
    const kept = await openListingCache()
    this.keep(kept, async () => {
      const last = await kept?.match(this.listingUrl())
      return last ? ((await last.json()) as IndexEntry[]) : undefined
    })
  }

  /** Deletes the copy of `id` held here, IndexedDB included. */
  private async deleteHere(id: DocumentId) {
    this.repo.delete(id)
    // automerge-repo's throttled saves still write an empty document and a sync state after
    // the deletion (within its 100 ms throttle): its storage is emptied again once they are done.
    await new Promise(r => setTimeout(r, 1000))
    await this.repo.storageSubsystem?.removeDoc(id).catch(() => {})
  }

  /** Drops this browser's copy of `id` (its refused change with it), IndexedDB included, and
   * fetches the organisation's version from the server again. */
  async drop(id: DocumentId) {
    this.handles.delete(id)
    this.queued.delete(id)
    this.unsent.forget(id)
    this.docChanged(id)
    await this.deleteHere(id)
    if (id === SETTINGS_ID) void this.loadSettings()
    else this.want(id)
  }

  /** Writes the listing `entries` gives as the kept one, without the records erased here;
   * one write after another, so that none puts back what another took out. */
  private keep(kept: Cache | undefined, entries: () => IndexEntry[] | undefined | Promise<IndexEntry[] | undefined>) {
    if (!kept) return
    this.keptWrites = this.keptWrites
      .then(async () => {
        const listed = await entries()
        if (!listed) return
        const body = JSON.stringify(listed.filter(e => !this.erased.has(e.id as DocumentId)))
        await kept.put(this.listingUrl(), new Response(body, { headers: { "content-type": "application/json" } }))
      })
      .catch(() => {
        // Not kept this time (storage full, or private browsing): the next listing tries again.
      })
  }

  /** Loads client `id` ahead of the others waiting (a card opened before its turn). */
  want(id: DocumentId) {
    if (this.handles.has(id) || this.erased.has(id)) return
    const at = this.queue.indexOf(id)
    if (at >= 0) this.queue.splice(at, 1)
    else if (this.queued.has(id)) return // asked for already, and not given up on
    this.queued.add(id)
    this.find(id)
  }

  private async loadSettings() {
    try {
      const handle = await this.repo.find<Doc>(urlOf(SETTINGS_ID), { signal: AbortSignal.timeout(10_000) })
      const read = () => {
        const s = plain(handle.doc()) as OrgSettings
        this.settings = { ...this.settings, ...s, client_types: { ...this.settings.client_types, ...s.client_types } }
        this.changed()
      }
      handle.on("change", read)
      this.follow(handle)
      this.settingsRead = true
      read()
    } catch {
      // No settings document here yet (or offline): the defaults stand (the core's
      // OrgSettings::default()) until the server sends one.
      this.repo.handles[SETTINGS_ID as DocumentId]
        ?.whenReady(["ready"])
        .then(() => void this.loadSettings())
        .catch(() => {}) // gave up waiting: asked again when the server next connects
    }
  }

  private readDirectory() {
    const doc = this.directory!.doc() as Doc
    let listed = 0
    for (const [id, kind] of Object.entries(doc)) {
      if (id === "kind" || id === "schema") continue
      const k = plain(kind)
      if (k !== "client") continue
      listed++
      const docId = id as DocumentId
      if (!this.handles.has(docId) && !this.queued.has(docId) && !this.erased.has(docId)) {
        this.queued.add(docId)
        this.queue.push(docId)
      }
    }
    this.state = { ...this.state, listed }
    this.pump()
    this.changed()
  }

  private pump() {
    while (this.inFlight < WINDOW && this.queue.length > 0) this.find(this.queue.shift()!)
  }

  private find(id: DocumentId) {
    this.inFlight++
    this.repo
      .find<Doc>(urlOf(id), { signal: AbortSignal.timeout(60_000) })
      .then(handle => this.track(handle))
      .catch(() => {
        // Unavailable for now (offline, and never stored here): automerge-repo asks the
        // server again when it connects and still takes the document then, so it is
        // tracked when it comes.
        this.queued.delete(id)
        this.repo.handles[id]
          ?.whenReady(["ready"])
          .then(() => {
            const handle = this.repo.handles[id] as DocHandle<Doc> | undefined
            if (handle && !this.handles.has(id) && !this.erased.has(id)) this.track(handle)
          })
          .catch(() => {}) // gave up waiting (60 s): asked again when the server next connects
      })
      .finally(() => {
        this.inFlight--
        this.pump()
      })
  }

  private track(handle: DocHandle<Doc>) {
    const id = handle.documentId
    this.handles.set(id, handle)
    const update = () => {
      const doc = handle.doc()
      if (!doc || plain(doc.kind) !== "client") return
      this.summaries.set(id, summarise(id, doc))
      this.state = { ...this.state, loaded: this.handles.size }
      for (const f of this.docListeners.get(id) ?? []) f()
      this.changed()
    }
    handle.on("change", update)
    this.follow(handle)
    update()
  }

  /** The client document `id`, if loaded. */
  doc(id: DocumentId): Doc | undefined {
    return this.handles.get(id)?.doc()
  }

  handle(id: DocumentId): DocHandle<Doc> | undefined {
    return this.handles.get(id)
  }

  /** Changes a client as one change stamped with this member and device. */
  change(id: DocumentId, action: string, f: (d: Doc) => void) {
    const handle = this.handles.get(id)
    if (!handle) throw new Error(`client ${id} is not loaded`)
    handle.change(f, options(this.author(action)))
  }

  /** Files a new client (already checked) and lists it in the directory. */
  create(client: Client): DocumentId {
    const doc = newClient(client, this.author("create"))
    const handle = this.repo.import<Doc>(A.save(doc))
    this.track(handle)
    this.directory?.change(d => {
      d[handle.documentId] = new ImmutableString("client")
    })
    return handle.documentId
  }

  /** Writes every document's unsaved changes to IndexedDB now, instead of after
   * automerge-repo's throttle (what was synced just before the page closes is kept). */
  flush(): Promise<void> {
    const ready = Object.values(this.repo.handles).filter(h => h.isReady())
    return this.repo.flush(ready.map(h => h.documentId))
  }

  url(id: DocumentId): string {
    return stringifyAutomergeUrl({ documentId: id })
  }
}
