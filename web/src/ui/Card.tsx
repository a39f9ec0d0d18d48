// The client card: every section of design.md §1, each field editable on its own.
import type { DocumentId } from "@automerge/automerge-repo/slim"
import { Automerge as A } from "@automerge/automerge-repo/slim"
import { useContext, useEffect, useMemo, useRef, useState } from "preact/hooks"
import { plain } from "../codec"
import { conflicts as findConflicts, type Conflict } from "../conflicts"
import type { Client, FileRef } from "../generated/fiche"
import type { Peer } from "../peer"
import { refusal } from "../roles"
import { spliceText } from "../records"
import { blobUrl } from "../session"
import { commit, getAt, newKey, remove, today } from "./edit"
import { Editable, Field, type Kind, SetField } from "./fields"

type Ctx = { peer: Peer; id: DocumentId; client: Client; conflicts: Map<string, Conflict> }

/** The client document `id`, re-rendered on its changes; one that loaded or changed between
 * the render and the subscription is caught up at once. */
function useDoc(peer: Peer, id: DocumentId) {
  const [, setTick] = useState(0)
  const doc = peer.doc(id)
  useEffect(() => {
    peer.want(id)
    const off = peer.watch(id, () => setTick(t => t + 1))
    if (peer.doc(id) !== doc) setTick(t => t + 1)
    return off
  }, [peer, id])
  return doc
}

export function Card({ peer, id, onClose }: { peer: Peer; id: DocumentId; onClose: () => void }) {
  const doc = useDoc(peer, id)
  const heads = doc ? A.getHeads(doc as A.Doc<unknown>).join(",") : ""
  const client = useMemo(() => (doc ? (plain(doc) as Client) : undefined), [heads])
  const conflicts = useMemo(() => (doc ? findConflicts(doc as A.Doc<unknown>) : new Map()), [heads])
  if (peer.erased.has(id)) return <section class="card empty" data-erased={id}>This client was erased on request: nothing of it is kept here any more.</section>
  if (!doc || !client) return <section class="card empty">Loading…</section>
  const ctx: Ctx = { peer, id, client, conflicts }
  const f = (path: string, label: string, kind?: Kind, options?: string[]) => (
    <Field peer={peer} id={id} client={client} path={path.split(".")} label={label} kind={kind} options={options} conflicts={conflicts} />
  )
  const types = Object.keys(peer.settings.client_types ?? {}).sort()
  const editable = peer.rights().edit
  const name = peer.summaries.get(id)?.name || "(no name)"
  return (
    <Editable.Provider value={editable}>
    <section class={`card${editable ? "" : " read-only"}`} data-card={id} aria-label="client card">
      <header class="card-head">
        {client.photo?.hash && <img class="photo" alt="" src={blobUrl(client.photo.thumbnail || client.photo.hash)} />}
        <h2 data-card-title>{name}</h2>
        {conflicts.size > 0 && <span class="badge warn">{conflicts.size} conflict{conflicts.size > 1 ? "s" : ""}</span>}
        <button type="button" class="close" onClick={onClose} aria-label="close card" title="Close (Esc)">
          ×
        </button>
      </header>
      <Refused peer={peer} id={id} name={name} />
      {!editable && <p class="muted" data-read-only-note>You are read-only: this card cannot be changed here.</p>}
      <fieldset class="card-body" disabled={!editable}>

      <Section title="Identity">
        {f("name.display", "Display name")}
        {f("name.first", "First name")}
        {f("name.last", "Last name")}
        {f("client_type", "Type", "select", types)}
        {f("status", "Status", "select", ["prospect", "client"])}
        {f("manager", "Manager")}
        {f("birthday", "Birthday", "date")}
        {f("archived", "Archived", "bool")}
        <SetField peer={peer} id={id} client={client} path={["groups"]} label="Groups" />
      </Section>

      <Section title="Phones and e-mails">
        <Collection ctx={ctx} path="phones" first={{ key: "number", label: "Phone" }} columns={[["label", "Label"], ["number", "Number"]]} />
        <Collection ctx={ctx} path="emails" first={{ key: "address", label: "E-mail" }} columns={[["label", "Label"], ["address", "Address"]]} />
      </Section>

      <Section title="Address">
        {f("address.street", "Street")}
        {f("address.postal_code", "Postal code")}
        {f("address.city", "City")}
        {f("address.region", "Region")}
        {f("address.country", "Country (ISO)")}
      </Section>

      <Section title="Notes (staff only)">
        <Notes peer={peer} id={id} />
      </Section>

      <Section title="Billing">
        {f("invoice.company_name", "Company name")}
        {f("invoice.legal_form", "Legal form")}
        {f("invoice.vat_number", "VAT number")}
        <SetField peer={peer} id={id} client={client} path={["payment_methods"]} label="Payment methods" />
        <Collection ctx={ctx} path="banks" first={{ key: "iban", label: "IBAN" }} columns={[["label", "Label"], ["holder", "Holder"], ["iban", "IBAN"], ["bic", "BIC"]]} />
        <Collection ctx={ctx} path="bonuses" first={{ key: "label", label: "Bonus" }} columns={[["label", "Label"], ["kind", "Kind", "select", ["percent", "amount"]], ["value", "Value (bp or cents)", "int"]]} />
        <Collection ctx={ctx} path="discounts" first={{ key: "label", label: "Discount" }} columns={[["label", "Label"], ["kind", "Kind", "select", ["percent", "amount"]], ["value", "Value", "int"], ["minimum", "Minimum (cents)", "int"]]} />
      </Section>

      <Section title="Contacts">
        <Contacts ctx={ctx} />
      </Section>

      <Section title="Sites">
        <Collection ctx={ctx} path="sites" first={{ key: "label", label: "Site" }} columns={[["label", "Label"], ["address.street", "Street"], ["address.city", "City"], ["address.postal_code", "Postal code"], ["address.country", "Country"]]} />
      </Section>

      <Section title="Activities">
        <Collection ctx={ctx} path="activities" first={{ key: "title", label: "Activity" }} fresh={{ date: today(), kind: "task" }} columns={[["date", "Date", "date"], ["kind", "Kind", "select", ["task", "call", "meeting"]], ["title", "Title"], ["description", "Description"], ["done", "Done", "bool"]]} />
      </Section>

      <Section title="Installations and interventions">
        <Collection ctx={ctx} path="installations" first={{ key: "kind", label: "Installation" }} columns={[["kind", "Kind"], ["brand", "Brand"], ["model", "Model"], ["serial", "Serial"], ["installed_on", "Installed on", "date"], ["site", "Site", "select", ["", ...Object.keys(client.sites ?? {})]]]} />
        <Collection ctx={ctx} path="interventions" first={{ key: "report", label: "Intervention report" }} fresh={{ date: today(), status: "planned" }} columns={[["date", "Date", "date"], ["status", "Status", "select", ["planned", "done", "cancelled"]], ["technician", "Technician"], ["installation", "Installation", "select", ["", ...Object.keys(client.installations ?? {})]], ["report", "Report", "long"]]} extra={(k) => <InterventionMedia client={client} k={k} />} />
      </Section>

      <Section title="Contracts">
        <Collection ctx={ctx} path="contracts" first={{ key: "number", label: "Contract number" }} fresh={{ starts_on: today(), currency: "EUR" }} columns={[["number", "Number"], ["starts_on", "Starts", "date"], ["ends_on", "Ends", "date"], ["amount", "Amount (cents)", "int"], ["currency", "Currency"]]} extra={k => <FileLink file={client.contracts?.[k]?.file ?? undefined} />} />
      </Section>

      <Section title="Interests">
        <Collection ctx={ctx} path="interests" first={{ key: "product", label: "Product" }} fresh={{ on: today() }} columns={[["product", "Product"], ["on", "On", "date"], ["contact", "Contact id"]]} />
      </Section>

      <Section title="Renewables">
        <Collection ctx={ctx} path="renewables" first={{ key: "product", label: "Product" }} columns={[["product", "Product"], ["period_months", "Period (months)", "int"], ["next_due", "Next due", "date"]]} extra={k => <span class="muted">purchases: {Object.values(client.renewables?.[k]?.purchases ?? {}).sort().join(", ") || "none"}</span>} />
      </Section>

      <Section title="Opportunities, quotes, trips, incidents">
        <Collection ctx={ctx} path="links" first={{ key: "title", label: "Title" }} columns={[["kind", "Kind", "select", ["opportunity", "quote", "trip", "incident"]], ["title", "Title"], ["reference", "Reference"]]} />
      </Section>

      <Section title="Files">
        <ul class="files">
          {client.photo?.hash && (
            <li>
              photo: <FileLink file={client.photo} />
            </li>
          )}
          {Object.entries(client.files ?? {}).map(([k, file]) => (
            <li data-file={k}>
              <FileLink file={file} />
            </li>
          ))}
        </ul>
      </Section>

      <Section title="Consent to data processing">
        {client.consent ? (
          <>
            {f("consent.given", "Given", "bool")}
            {f("consent.on", "On", "date")}
            {f("consent.method", "How", "select", ["form", "paper", "verbal"])}
            {f("consent.recorded_by", "Recorded by")}
          </>
        ) : !editable ? (
          <p class="muted">No consent recorded.</p>
        ) : (
          <button type="button" onClick={() => commit(peer, id, ["consent"], { given: true, on: today(), method: "form", recorded_by: peer.session.member })}>
            Record consent
          </button>
        )}
      </Section>

      <Section title="History">
        <History doc={doc} />
      </Section>
      </fieldset>
    </section>
    </Editable.Provider>
  )
}

/** The server refused this browser's change to the client: why, and a way back to the
 * organisation's version. */
function Refused({ peer, id, name }: { peer: Peer; id: DocumentId; name: string }) {
  const reason = peer.unsent.reason(id)
  const [dropping, setDropping] = useState(false)
  if (reason === undefined) return null
  // Said as the member's role explains it when it does; the server's own words otherwise.
  const plainly = refusal(peer.state.role, "client") ?? reason
  return (
    <div class="refusal" role="alert" data-refusal={id}>
      <p title={reason}>
        Your change to {name} was refused: {plainly}
      </p>
      <button
        type="button"
        data-drop
        disabled={dropping}
        onClick={() => {
          setDropping(true)
          void peer.drop(id)
        }}
      >
        Drop my change
      </button>
    </div>
  )
}

function Section({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <details open class="section">
      <summary>{title}</summary>
      <div class="section-body">{children}</div>
    </details>
  )
}

type Column = [key: string, label: string, kind?: Kind, options?: string[]]

/** A map of sub-records keyed by UUID: one row each, fields editable, add and remove. */
function Collection({ ctx, path, columns, first, fresh, extra }: {
  ctx: Ctx
  path: string
  columns: Column[]
  first: { key: string; label: string }
  fresh?: Record<string, unknown>
  extra?: (key: string) => preact.ComponentChildren
}) {
  const { peer, id, client, conflicts } = ctx
  const items = Object.keys((getAt(client, [path]) as object) ?? {})
  const [text, setText] = useState("")
  const [error, setError] = useState<string>()
  const editable = useContext(Editable)
  const add = () => {
    if (text.trim() === "") return
    const item: Record<string, unknown> = { ...fresh }
    setNested(item, first.key.split("."), text)
    const reason = commit(peer, id, [path, newKey()], item, "edit")
    setError(reason)
    if (!reason) setText("")
  }
  return (
    <div class="collection" data-collection={path}>
      {items.map(k => (
        <div class="row" key={k} data-item={`${path}.${k}`}>
          {columns.map(([key, label, kind, options]) => (
            <Field key={key} peer={peer} id={id} client={client} path={[path, k, ...key.split(".")]} label={label} kind={kind} options={options} conflicts={conflicts} />
          ))}
          {extra?.(k)}
          {editable && (
            <button type="button" class="remove" aria-label="remove" onClick={() => remove(peer, id, [path, k])}>
              Remove
            </button>
          )}
        </div>
      ))}
      {editable && <div class="add">
        <input
          data-add={path}
          value={text}
          placeholder={`Add ${first.label.toLowerCase()}…`}
          onInput={e => setText((e.target as HTMLInputElement).value)}
          onKeyDown={e => e.key === "Enter" && add()}
        />
        <button type="button" onClick={add}>
          Add
        </button>
        {error && (
          <span class="error" role="alert" data-error-for={`add.${path}`}>
            {error}
          </span>
        )}
      </div>}
    </div>
  )
}

function setNested(obj: Record<string, unknown>, path: string[], value: unknown) {
  let o = obj
  for (const k of path.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>
  o[path[path.length - 1]] = value
}

/** Collaborative notes: each keystroke is a splice of what changed, so two people typing
 * in the same notes both keep their text; remote edits keep the caret where it was. */
function Notes({ peer, id }: { peer: Peer; id: DocumentId }) {
  const area = useRef<HTMLTextAreaElement>(null)
  const last = useRef<A.Doc<unknown>>()
  const text = (d: unknown) => String((d as { notes?: unknown })?.notes ?? "")
  useEffect(() => {
    const sync = () => {
      const doc = peer.doc(id) as A.Doc<unknown> | undefined
      const el = area.current
      if (!doc || !el) return
      const before = last.current
      last.current = doc
      const next = text(doc)
      if (el.value === next) return
      let [start, end] = [el.selectionStart, el.selectionEnd]
      if (before && document.activeElement === el && typeof (doc as { notes?: unknown }).notes === "string") {
        try {
          const c1 = A.getCursor(before, ["notes"], start)
          const c2 = A.getCursor(before, ["notes"], end)
          start = A.getCursorPosition(doc, ["notes"], c1)
          end = A.getCursorPosition(doc, ["notes"], c2)
        } catch {
          // The notes were replaced wholesale: keep the caret where it was.
        }
      }
      el.value = next
      if (document.activeElement === el) el.setSelectionRange(start, end)
    }
    sync()
    return peer.watch(id, sync)
  }, [peer, id])
  const onInput = () => {
    const el = area.current!
    const doc = peer.doc(id)
    if (!doc) return
    const before = text(doc)
    if (typeof (doc as { notes?: unknown }).notes !== "string") {
      // No text object yet (an older record): create it with this text.
      peer.change(id, "edit", d => {
        d.notes = el.value
      })
    } else {
      peer.change(id, "edit", d => spliceText(d as A.Doc<unknown>, ["notes"], before, el.value))
    }
    last.current = peer.doc(id) as A.Doc<unknown>
  }
  return <textarea ref={area} class="notes" data-field="notes" rows={6} onInput={onInput} placeholder="Notes for the team…" />
}

function Contacts({ ctx }: { ctx: Ctx }) {
  const { peer, id, client, conflicts } = ctx
  const links = Object.keys(client.contacts ?? {})
  if (links.length === 0) return <p class="muted">No linked contacts.</p>
  return (
    <div class="collection">
      {links.map(k => (
        <div class="row" key={k}>
          <ContactName peer={peer} contactId={k} />
          <Field peer={peer} id={id} client={client} path={["contacts", k, "role"]} label="Role" conflicts={conflicts} />
        </div>
      ))}
    </div>
  )
}

function ContactName({ peer, contactId }: { peer: Peer; contactId: string }) {
  const [name, setName] = useState<string>(contactId.slice(0, 8) + "…")
  useEffect(() => {
    let live = true
    peer.repo
      .find(`automerge:${contactId}` as never, { signal: AbortSignal.timeout(5000) })
      .then(h => {
        const c = plain((h as { doc(): unknown }).doc()) as { name?: { display?: string; first?: string; last?: string } }
        const shown = c.name?.display || `${c.name?.first ?? ""} ${c.name?.last ?? ""}`.trim()
        if (live && shown) setName(shown)
      })
      .catch(() => {})
    return () => {
      live = false
    }
  }, [contactId])
  return <span class="contact-name">{name}</span>
}

function FileLink({ file }: { file?: FileRef }) {
  if (!file?.hash) return null
  const isImage = (file.media_type ?? "").startsWith("image/")
  return (
    <a class="file" href={blobUrl(file.hash)} download={file.name || undefined} target="_blank" rel="noreferrer">
      {isImage && <img alt="" src={blobUrl(file.thumbnail || file.hash)} />}
      {file.name || file.hash.slice(0, 12)} <span class="muted">({Math.ceil(Number(file.size) / 1024)} KiB, {file.media_type})</span>
    </a>
  )
}

function InterventionMedia({ client, k }: { client: Client; k: string }) {
  const i = client.interventions?.[k]
  if (!i) return null
  return (
    <span class="media">
      {Object.values(i.photos ?? {}).map(p => (
        <FileLink file={p} />
      ))}
      {i.signature?.image?.hash && (
        <span class="signature">
          signed by {i.signature.signed_by} at {i.signature.signed_at}: <FileLink file={i.signature.image} />
        </span>
      )}
    </span>
  )
}

function History({ doc }: { doc: unknown }) {
  const changes = useMemo(() => {
    const all = A.getAllChanges(doc as A.Doc<unknown>).map(c => A.decodeChange(c))
    return all.slice(-30).reverse()
  }, [doc])
  return (
    <ol class="history">
      {changes.map(c => {
        let who = c.actor.slice(0, 8)
        let action = ""
        try {
          const m = JSON.parse(c.message ?? "")
          who = `${m.member} on ${m.device}`
          action = m.action
        } catch {
          // A change without a Fiche author (another app): show its actor.
        }
        return (
          <li>
            {c.time ? new Date(c.time * 1000).toLocaleString() : "?"} — {who} {action && `(${action})`}
          </li>
        )
      })}
    </ol>
  )
}
