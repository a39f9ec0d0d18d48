// Field editors: each shows the value, the check's message when an edit is refused, and the
// other value of a conflict with a button to pick it.
import type { DocumentId } from "@automerge/automerge-repo/slim"
import { createContext } from "preact"
import { useContext, useState } from "preact/hooks"
import type { Conflict } from "../conflicts"
import type { Peer } from "../peer"
import { commit, getAt } from "./edit"

/** Whether the member's role lets them change the card shown (its inputs are disabled
 * otherwise, and its add, remove and pick buttons not shown). */
export const Editable = createContext(true)

export type Kind = "text" | "date" | "bool" | "int" | "select" | "long"

export type FieldProps = {
  peer: Peer
  id: DocumentId
  client: unknown
  path: string[]
  label: string
  kind?: Kind
  options?: string[]
  conflicts: Map<string, Conflict>
  placeholder?: string
}

const show = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v))

export function Field({ peer, id, client, path, label, kind = "text", options, conflicts, placeholder }: FieldProps) {
  const key = path.join(".")
  const value = getAt(client, path)
  const [draft, setDraft] = useState<string | null>(null)
  const [error, setError] = useState<string | undefined>()
  const conflict = useContext(Editable) ? conflicts.get(key) : undefined

  const save = (raw: unknown, always = false) => {
    const reason = commit(peer, id, path, raw, "edit", always)
    setError(reason)
    if (!reason) setDraft(null)
  }
  const parse = (text: string): unknown => (kind === "int" ? (text.trim() === "" ? 0 : Number(text)) : text)

  let input
  if (kind === "bool") {
    input = (
      <input type="checkbox" data-field={key} checked={value === true} onChange={e => save((e.target as HTMLInputElement).checked)} />
    )
  } else if (kind === "select") {
    input = (
      <select data-field={key} value={show(value)} onChange={e => save((e.target as HTMLSelectElement).value)}>
        {(options ?? []).map(o => (
          <option value={o}>{o}</option>
        ))}
      </select>
    )
  } else {
    const props = {
      "data-field": key,
      value: draft ?? show(value),
      placeholder: placeholder ?? (kind === "date" ? "YYYY-MM-DD" : ""),
      "aria-invalid": error ? true : undefined,
      onInput: (e: Event) => setDraft((e.target as HTMLInputElement).value),
      onBlur: () => draft !== null && save(parse(draft)),
      onKeyDown: (e: KeyboardEvent) => {
        if (e.key === "Enter" && kind !== "long" && draft !== null) save(parse(draft))
        if (e.key === "Escape" && (draft !== null || error)) {
          // Drops this field's edit only: the card stays open (a second Esc closes it).
          e.stopPropagation()
          setDraft(null)
          setError(undefined)
        }
      },
    }
    input = kind === "long" ? <textarea rows={3} {...props} /> : <input type={kind === "int" ? "number" : "text"} {...props} />
  }
  return (
    <label class={`field field-${kind}`}>
      <span class="label">{label}</span>
      {input}
      {error && (
        <span class="error" role="alert" data-error-for={key}>
          {error}
        </span>
      )}
      {conflict && (
        <span class="conflict" data-conflict-for={key}>
          Also written at the same time:{" "}
          {conflict.others.map(o => (
            <button type="button" class="pick" onClick={() => save(o, true)}>
              use “{show(o)}”
            </button>
          ))}
          <button type="button" class="pick" onClick={() => save(conflict.current, true)}>
            keep “{show(conflict.current)}”
          </button>
        </span>
      )}
    </label>
  )
}

/** A set (groups, payment methods): chips to remove, an input to add. */
export function SetField({ peer, id, client, path, label }: Omit<FieldProps, "conflicts">) {
  const members = Object.entries((getAt(client, path) as Record<string, boolean>) ?? {})
    .filter(([, on]) => on)
    .map(([m]) => m)
  const [text, setText] = useState("")
  const editable = useContext(Editable)
  const add = () => {
    if (text.trim() === "") return
    commit(peer, id, [...path, text.trim()], true)
    setText("")
  }
  return (
    <div class="field set" data-set={path.join(".")}>
      <span class="label">{label}</span>
      <span class="chips">
        {members.map(m => (
          <span class="chip">
            {m}
            {editable && <button type="button" aria-label={`remove ${m}`} onClick={() => peer.change(id, "edit", d => {
              const set = getAt(d, path) as Record<string, unknown>
              delete set[m]
            })}>
              ×
            </button>}
          </span>
        ))}
        {editable && (
          <input
            value={text}
            placeholder="add…"
            onInput={e => setText((e.target as HTMLInputElement).value)}
            onKeyDown={e => e.key === "Enter" && add()}
          />
        )}
      </span>
    </div>
  )
}
