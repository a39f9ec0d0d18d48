// Between plain records (the generated types) and Automerge documents, laid out exactly as
// fiche-core writes them, read from the one schema both share (schema/fiche.schema.json):
// strings are scalar strings (ImmutableString) except collaborative text (`x-automerge:
// text`), unsigned integers (`format: uint*`) are Uint and the others Int, sets are maps to
// `true`, absent optional values are null. The document envelope is `kind` and `schema`.
import { ImmutableString, Int, Uint, isImmutableString } from "@automerge/automerge/slim"
import schemaJson from "../schema/fiche.schema.json"
import type { Client } from "./generated/fiche"

/** A JSON Schema node, as much of it as the codec reads. */
export type Node = {
  $ref?: string
  type?: string | string[]
  format?: string
  enum?: string[]
  const?: string
  default?: unknown
  properties?: Record<string, Node>
  additionalProperties?: Node | boolean
  anyOf?: Node[]
  allOf?: Node[]
  "x-automerge"?: "text" | "set"
}

type Schema = Node & { $defs: Record<string, Node>; "x-fiche": { schema_version: number; directory_id: string; settings_id: string } }

export const SCHEMA = schemaJson as unknown as Schema
export const SCHEMA_VERSION = SCHEMA["x-fiche"].schema_version
export const DIRECTORY_ID = SCHEMA["x-fiche"].directory_id
export const SETTINGS_ID = SCHEMA["x-fiche"].settings_id

/** The node a `$ref` points at, or the node itself. */
export function deref(node: Node): Node {
  let n = node
  while (n.$ref) n = SCHEMA.$defs[n.$ref.replace("#/$defs/", "")]
  return n
}

/** For `Option<T>` (`anyOf: [T, null]` or `type: [T, "null"]`): T's node; else the node. */
export function inner(node: Node): Node {
  const n = deref(node)
  if (n.anyOf) {
    const some = n.anyOf.find(a => deref(a).type !== "null")
    return some ? { ...inner(some), "x-automerge": n["x-automerge"] ?? deref(some)["x-automerge"] } : n
  }
  if (Array.isArray(n.type)) {
    return { ...n, type: n.type.find(t => t !== "null") }
  }
  return n
}

export function nullable(node: Node): boolean {
  const n = deref(node)
  return (Array.isArray(n.type) && n.type.includes("null")) || !!n.anyOf?.some(a => deref(a).type === "null")
}

export const CLIENT: Node = { $ref: "#/$defs/Client" }

/** The node of the value at `path` under `root` (map keys step through `additionalProperties`). */
export function nodeAt(root: Node, path: readonly string[]): Node {
  let n: Node = root
  for (const key of path) {
    const i = inner(n)
    if (i.properties && key in i.properties) n = i.properties[key]
    else if (typeof i.additionalProperties === "object") n = i.additionalProperties
    else throw new Error(`no field ${path.join(".")} in the schema`)
  }
  return n
}

/** A plain value as the document stores it, under schema node `node`. */
export function encode(value: unknown, node: Node): unknown {
  if (value === null || value === undefined) return null
  const n = inner(node)
  const type = n.type
  if (n["x-automerge"] === "text") return String(value)
  if (n["x-automerge"] === "set") {
    // A set given as a list, or already as a map to true.
    const members = Array.isArray(value) ? value : Object.keys(value as object).filter(k => (value as Record<string, boolean>)[k])
    return Object.fromEntries(members.map(m => [String(m), true]))
  }
  if (type === "string" || n.enum || n.const !== undefined) return new ImmutableString(String(value))
  if (type === "integer") {
    const v = Math.trunc(Number(value))
    return n.format?.startsWith("uint") ? new Uint(v) : new Int(v)
  }
  if (type === "number") return Number(value)
  if (type === "boolean") return Boolean(value)
  if (type === "object" || n.properties) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue
      const child = n.properties?.[k] ?? (typeof n.additionalProperties === "object" ? n.additionalProperties : undefined)
      if (child) out[k] = encode(v, child)
    }
    return out
  }
  if (n.allOf) return encode(value, { ...n.allOf.reduce((acc, a) => merge(acc, deref(a)), {} as Node) })
  return value
}

function merge(a: Node, b: Node): Node {
  return { ...a, ...b, properties: { ...a.properties, ...b.properties }, type: "object" }
}

/** The full default value of a node, with every nested map present (as the core writes a new record). */
export function defaults(node: Node): unknown {
  const n = inner(node)
  if (nullable(node)) return null
  if (n.properties) {
    return Object.fromEntries(Object.entries(n.properties).map(([k, p]) => [k, defaults(p)]))
  }
  if (n.default !== undefined) return structuredClone(n.default)
  if (n.type === "object") return {}
  if (n.type === "string" || n.enum) return n.enum?.[0] ?? ""
  if (n.type === "integer" || n.type === "number") return 0
  if (n.type === "boolean") return false
  return null
}

/** A document value as plain JSON: scalar and text strings become strings. */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return value
  if (isImmutableString(value)) return (value as ImmutableString).val
  // Unsigned integers (Uint) read back as bigint; every Fiche integer fits a double.
  if (typeof value === "bigint") return Number(value)
  if (typeof value !== "object") return value
  if (value instanceof Uint8Array) return Array.from(value)
  if (Array.isArray(value)) return value.map(plain)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = plain(v)
  return out
}

/** The client in a client document (envelope and unknown keys included, as plain JSON). */
export function clientOf(doc: unknown): Client & { kind?: string; schema?: number } {
  return plain(doc) as Client
}

/** A new client document's content: the envelope and every field at its default, then `client`
 * (encoded: write it into a document with {@link write}, key by key). */
export function newClientDocument(client: Client): Record<string, unknown> {
  const base = defaults(CLIENT) as Record<string, unknown>
  const full = { ...base, ...client }
  return {
    kind: new ImmutableString("client"),
    schema: new Uint(SCHEMA_VERSION),
    ...(encode(full, CLIENT) as Record<string, unknown>),
  }
}

/** Whether an encoded value is a map to create key by key (not a scalar wrapper). */
function isMap(v: unknown): v is Record<string, unknown> {
  return (
    v !== null && typeof v === "object" && !isImmutableString(v) && !(v instanceof Int) && !(v instanceof Uint) && !Array.isArray(v)
  )
}

/** Writes an encoded value under `key` of a map being changed. Maps are created empty and
 * filled key by key: Automerge turns an Int or Uint nested in an assigned object into a map
 * of its own, but stores it as a number when it is assigned to a key. */
export function write(target: Record<string, unknown>, key: string, value: unknown) {
  if (!isMap(value)) {
    target[key] = value
    return
  }
  target[key] = {}
  const created = target[key] as Record<string, unknown>
  for (const [k, v] of Object.entries(value)) write(created, k, v)
}

/** Sets the value at `path` in a document being changed, creating missing parent maps. */
export function put(doc: Record<string, unknown>, path: readonly string[], value: unknown, root: Node = CLIENT) {
  let obj = doc
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]
    let next = obj[key]
    if (next === null || next === undefined || typeof next !== "object" || isImmutableString(next)) {
      const node = nodeAt(root, path.slice(0, i + 1))
      write(obj, key, encode(defaults(node) ?? {}, node) ?? {})
      next = obj[key]
    }
    obj = next as Record<string, unknown>
  }
  write(obj, path[path.length - 1], encode(value, nodeAt(root, path)))
}
