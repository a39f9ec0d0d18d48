// The main screen: the client list with search (virtualised, so 10,000 clients scroll and
// filter while typing), the live sync state, the open card, and the new-client form.
import type { DocumentId } from "@automerge/automerge-repo/slim"
import { useEffect, useMemo, useRef, useState } from "preact/hooks"
import { checkClient } from "../check"
import type { Client } from "../generated/fiche"
import type { Peer } from "../peer"
import { type Summary, duplicates, search, summarise } from "../search"
import { Card } from "./Card"
import { region, newKey } from "./edit"
import { encode, CLIENT } from "../codec"
import { signOut } from "../session"

const ROW = 44

/** Re-renders on every change of the peer. Effects run after the first paint, and whatever
 * changed before the subscription (the kept listing, read at start) is caught up at once. */
function usePeer(peer: Peer) {
  const [, setTick] = useState(0)
  const rendered = peer.revision
  useEffect(() => {
    const off = peer.subscribe(() => setTick(t => t + 1))
    if (peer.revision !== rendered) setTick(t => t + 1)
    return off
  }, [peer])
}

export function App({ peer }: { peer: Peer }) {
  usePeer(peer)
  const [query, setQuery] = useState("")
  const [archived, setArchived] = useState(false)
  const [open, setOpen] = useState<DocumentId | null>(null)
  // The highlighted row is a client, not a position: a sync that adds or renames a client
  // above it leaves the highlight (and Enter) on the same client.
  const [selected, setSelected] = useState<string | null>(null)
  const [creating, setCreating] = useState(false)
  const searchBox = useRef<HTMLInputElement>(null)
  const rows = useMemo(() => search(peer.summaries.values(), query, archived), [query, archived, peer.revision])
  const cursor = Math.max(0, selected === null ? 0 : rows.findIndex(r => r.id === selected))
  const rights = peer.rights()

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement
      if (e.key === "/" && !typing) {
        e.preventDefault()
        searchBox.current?.focus()
      } else if (e.key === "n" && !typing && !e.ctrlKey && !e.metaKey && rights.create) {
        e.preventDefault()
        setCreating(true)
      } else if (e.key === "Escape") {
        if (creating) setCreating(false)
        else if (open) setOpen(null)
      }
    }
    addEventListener("keydown", onKey)
    return () => removeEventListener("keydown", onKey)
  }, [creating, open, rights.create])

  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown" && rows.length > 0) setSelected(rows[Math.min(rows.length - 1, cursor + 1)].id)
    else if (e.key === "ArrowUp" && rows.length > 0) setSelected(rows[Math.max(0, cursor - 1)].id)
    else if (e.key === "Enter" && rows[cursor]) setOpen(rows[cursor].id as DocumentId)
    else return
    e.preventDefault()
  }

  return (
    <div class="app">
      <header class="top">
        <h1>Fiche</h1>
        <input
          ref={searchBox}
          class="search"
          type="search"
          data-search
          placeholder="Search name, phone, e-mail, city, group, status  ( / )"
          value={query}
          onInput={e => {
            setQuery((e.target as HTMLInputElement).value)
            setSelected(null)
          }}
          onKeyDown={onSearchKey}
          aria-label="search clients"
        />
        <label class="archived">
          <input type="checkbox" checked={archived} onChange={e => setArchived((e.target as HTMLInputElement).checked)} /> archived
        </label>
        {rights.create && (
          <button type="button" data-new onClick={() => setCreating(true)} title="New client (n)">
            New client
          </button>
        )}
        {!rights.edit && (
          <span class="badge" data-read-only>
            read-only
          </span>
        )}
        <SyncBadge peer={peer} />
      </header>
      <main class="split">
        <List rows={rows} cursor={cursor} open={open} refused={id => peer.unsent.reason(id) !== undefined} onOpen={id => { setOpen(id); setSelected(id) }} />
        {open ? <Card key={open} peer={peer} id={open} onClose={() => setOpen(null)} /> : <section class="card empty">{rights.create ? "Pick a client, or press n to file a new one." : "Pick a client."}</section>}
      </main>
      {creating && rights.create && (
        <NewClient
          peer={peer}
          onDone={id => {
            setCreating(false)
            if (id) setOpen(id)
          }}
        />
      )}
    </div>
  )
}

function SyncBadge({ peer }: { peer: Peer }) {
  const { online, listed, loaded, refused } = peer.state
  if (refused) {
    // The token was revoked (or the server forgot it): edits stay here until a new sign-in.
    const again = () => {
      signOut()
      location.reload()
    }
    return (
      <span class="sync offline" data-sync="refused" role="alert">
        this browser's access was refused: edits are kept here ·{" "}
        <button type="button" data-signin-again onClick={again}>
          Sign in again
        </button>
      </span>
    )
  }
  const { waiting, refused: turnedDown } = peer.backlog()
  const changes = (n: number) => `${n} change${n === 1 ? "" : "s"}`
  const work = [waiting > 0 && `${changes(waiting)} waiting`, turnedDown > 0 && `${turnedDown} refused`].filter(Boolean).join(" · ")
  // "Up to date" only when the server holds every local change.
  const text = !online
    ? waiting + turnedDown > 0
      ? `offline: ${changes(waiting + turnedDown)} kept here`
      : "offline: edits are kept here"
    : loaded < listed
      ? `syncing ${loaded} of ${listed}${work && ` · ${work}`}`
      : work || "up to date"
  return (
    <span
      class={`sync ${online ? "online" : "offline"}${turnedDown > 0 ? " refused" : ""}`}
      data-sync={online ? "online" : "offline"}
      data-loaded={loaded}
      data-listed={listed}
      data-waiting={waiting}
      data-refused={turnedDown}
      title={peer.unsent.reasons().join("\n") || undefined}
    >
      {text} · {peer.summaries.size} clients
    </span>
  )
}

function List({ rows, cursor, open, refused, onOpen }: {
  rows: Summary[]
  cursor: number
  open: DocumentId | null
  refused: (id: DocumentId) => boolean
  onOpen: (id: DocumentId) => void
}) {
  const box = useRef<HTMLDivElement>(null)
  const [top, setTop] = useState(0)
  const [height, setHeight] = useState(600)
  useEffect(() => {
    const el = box.current!
    const resize = () => setHeight(el.clientHeight)
    resize()
    addEventListener("resize", resize)
    return () => removeEventListener("resize", resize)
  }, [])
  useEffect(() => {
    const el = box.current!
    const y = cursor * ROW
    if (y < el.scrollTop) el.scrollTop = y
    else if (y + ROW > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW - el.clientHeight
  }, [cursor])
  const first = Math.max(0, Math.floor(top / ROW) - 5)
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW) + 5)
  return (
    <div class="list" ref={box} onScroll={e => setTop((e.target as HTMLDivElement).scrollTop)} role="listbox" data-list data-count={rows.length}>
      <div style={{ height: `${rows.length * ROW}px`, position: "relative" }}>
        {rows.slice(first, last).map((s, j) => {
          const i = first + j
          const turnedDown = refused(s.id as DocumentId)
          return (
            <div
              key={s.id}
              class={`row${i === cursor ? " cursor" : ""}${s.id === open ? " open" : ""}${turnedDown ? " refused" : ""}`}
              style={{ top: `${i * ROW}px` }}
              role="option"
              aria-selected={i === cursor}
              data-client-id={s.id}
              data-refused={turnedDown ? "" : undefined}
              title={turnedDown ? "Your change to this client was refused" : undefined}
              onClick={() => onOpen(s.id as DocumentId)}
            >
              <span class="name">
                {turnedDown && <span class="refused-mark" aria-label="change refused">⚠ </span>}
                {s.name || "(no name)"}
              </span>
              <span class="meta">
                {[s.city, s.phones[0], s.emails[0]].filter(Boolean).join(" · ")}
              </span>
              <span class={`status ${s.status}`}>{s.status}</span>
            </div>
          )
        })}
      </div>
      {rows.length === 0 && <p class="muted pad">No client matches.</p>}
    </div>
  )
}

/** The new-client form: checked as fiche-core checks, with duplicate warnings while typing. */
function NewClient({ peer, onDone }: { peer: Peer; onDone: (id?: DocumentId) => void }) {
  const [v, setV] = useState({ display: "", first: "", last: "", company: "", type: "person", status: "prospect", phone: "", email: "", city: "", country: "" })
  const [errors, setErrors] = useState<Record<string, string>>({})
  const draft = (): Client => {
    const c: Client = {
      client_type: v.type,
      status: v.status as Client["status"],
      name: { display: v.display, first: v.first, last: v.last },
      invoice: { company_name: v.company, legal_form: "", vat_number: null },
      address: { street: "", city: v.city, region: "", postal_code: "", country: v.country },
      phones: v.phone.trim() ? { [newKey()]: { label: "", number: v.phone } } : {},
      emails: v.email.trim() ? { [newKey()]: { label: "", address: v.email } } : {},
    }
    return c
  }
  const similar = useMemo(() => {
    const c = draft()
    checkClient(c, { defaultRegion: region() }, peer.settings)
    const candidate = summarise("", encode(c, CLIENT) as Record<string, unknown>)
    if (!candidate.nameKey && candidate.phones.length === 0 && candidate.emails.length === 0) return []
    return duplicates(peer.summaries.values(), candidate).slice(0, 5)
  }, [v])
  const save = (e: Event) => {
    e.preventDefault()
    const c = draft()
    const found = checkClient(c, { defaultRegion: region() }, peer.settings)
    if (found.length > 0) {
      const byField: Record<string, string> = {}
      for (const err of found) {
        const key = err.field.startsWith("phones.") ? "phone" : err.field.startsWith("emails.") ? "email" : err.field === "address.country" ? "country" : err.field === "client_type" ? "type" : err.field
        byField[key] = err.reason
      }
      setErrors(byField)
      return
    }
    onDone(peer.create(c))
  }
  const input = (key: keyof typeof v, label: string, err?: string) => (
    <label class="field">
      <span class="label">{label}</span>
      <input data-new-field={key} value={v[key]} onInput={e => setV({ ...v, [key]: (e.target as HTMLInputElement).value })} aria-invalid={err ? "true" : undefined} />
      {err && (
        <span class="error" role="alert" data-error-for={`new.${key}`}>
          {err}
        </span>
      )}
    </label>
  )
  return (
    <div class="modal" role="dialog" aria-label="new client">
      <form onSubmit={save}>
        <h2>New client</h2>
        {input("display", "Display name", errors.name)}
        {input("first", "First name")}
        {input("last", "Last name")}
        {input("company", "Company")}
        <label class="field">
          <span class="label">Type</span>
          <select value={v.type} onChange={e => setV({ ...v, type: (e.target as HTMLSelectElement).value })}>
            {Object.keys(peer.settings.client_types ?? {}).sort().map(t => <option value={t}>{t}</option>)}
          </select>
        </label>
        <label class="field">
          <span class="label">Status</span>
          <select value={v.status} onChange={e => setV({ ...v, status: (e.target as HTMLSelectElement).value })}>
            <option value="prospect">prospect</option>
            <option value="client">client</option>
          </select>
        </label>
        {input("phone", "Phone", errors.phone)}
        {input("email", "E-mail", errors.email)}
        {input("city", "City")}
        {input("country", "Country (ISO)", errors.country)}
        {similar.length > 0 && (
          <div class="duplicates" role="status" data-duplicates>
            <strong>Looks like an existing client:</strong>
            <ul>
              {similar.map(d => (
                <li>
                  <a href="#" onClick={e => { e.preventDefault(); onDone(d.id as DocumentId) }}>{d.name}</a>: {d.reasons.join(", ")}
                </li>
              ))}
            </ul>
          </div>
        )}
        <div class="buttons">
          <button type="submit" data-save>Save</button>
          <button type="button" onClick={() => onDone()}>Cancel</button>
        </div>
      </form>
    </div>
  )
}
