#!/usr/bin/env node
// Official automerge-repo peer for Fiche's interop tests.
// Usage: node peer.mjs <command> [options]   (see README.md or `node peer.mjs help`)
//
// Exit codes: 0 ok, 1 usage or runtime error, 2 document unavailable, 3 timeout.

import fs from "node:fs"
import { WebSocketServer } from "ws"
import * as A from "@automerge/automerge"
import {
  Repo,
  ImmutableString,
  isImmutableString,
  isValidAutomergeUrl,
  cbor,
} from "@automerge/automerge-repo"
import {
  WebSocketClientAdapter,
  WebSocketServerAdapter,
} from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const USAGE = `usage: node peer.mjs <command> [options]

commands:
  server --port P --dir D
  create --url ws://HOST:P --json '<JSON object>' [--text key1,key2]
  edit   --url ws://HOST:P --doc automerge:... --set path=value [--set path=value ...]
  get    --url ws://HOST:P --doc automerge:...
  wait   --url ws://HOST:P --doc automerge:... --path p --equals v
  import --dir D --file F   store documents into a server's directory D, no network
                            (F: for each, u32 LE length + document id, u32 LE length + bytes)

common options:
  --timeout SECONDS   give up after this long, exit 3 (default 20; 0 = never)
  --trace             log every protocol message sent/received to stderr

exit codes: 0 ok, 1 usage/error, 2 unavailable (get), 3 timeout`

// ---------------------------------------------------------------- utilities

class UsageError extends Error {}
class UnavailableError extends Error {}

const log = (...args) => process.stderr.write(args.join(" ") + "\n")
const sleep = ms => new Promise(r => setTimeout(r, ms))

function exit(code) {
  // Make sure whatever we wrote to stdout/stderr is flushed before exiting,
  // then exit hard so no lingering timers/sockets keep node alive.
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
}

// Options taking a value; --set may repeat. Flags take no value.
const VALUE_OPTS = new Set([
  "port", "dir", "url", "json", "text", "doc", "set", "path", "equals", "timeout", "file",
])
const FLAG_OPTS = new Set(["trace"])
const COMMANDS = {
  server: { required: ["port", "dir"], allowed: ["port", "dir"] },
  create: { required: ["url", "json"], allowed: ["url", "json", "text"] },
  edit: { required: ["url", "doc", "set"], allowed: ["url", "doc", "set"] },
  get: { required: ["url", "doc"], allowed: ["url", "doc"] },
  wait: { required: ["url", "doc", "path", "equals"], allowed: ["url", "doc", "path", "equals"] },
  import: { required: ["dir", "file"], allowed: ["dir", "file"] },
}

function parseArgs(argv) {
  const [command, ...rest] = argv
  if (!command) throw new UsageError("missing command")
  if (command === "help" || command === "--help" || command === "-h") {
    return { command: "help" }
  }
  const spec = COMMANDS[command]
  if (!spec) throw new UsageError(`unknown command '${command}'`)
  const opts = { set: [] }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'`)
    let name = arg.slice(2)
    let value
    const eq = name.indexOf("=")
    if (eq >= 0 && name !== "set") {
      // allow --name=value (but --set path=value is the normal form)
      value = name.slice(eq + 1)
      name = name.slice(0, eq)
    }
    if (FLAG_OPTS.has(name)) {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`)
      opts[name] = true
      continue
    }
    if (!VALUE_OPTS.has(name) || !(spec.allowed.includes(name) || name === "timeout")) {
      throw new UsageError(`unknown option --${name} for '${command}'`)
    }
    if (value === undefined) {
      if (i + 1 >= rest.length) throw new UsageError(`--${name} needs a value`)
      value = rest[++i]
    }
    if (name === "set") opts.set.push(value)
    else if (name in opts) throw new UsageError(`--${name} given twice`)
    else opts[name] = value
  }
  for (const r of spec.required) {
    if (r === "set" ? opts.set.length === 0 : opts[r] === undefined) {
      throw new UsageError(`'${command}' needs --${r}`)
    }
  }
  const timeout = opts.timeout === undefined ? 20 : Number(opts.timeout)
  if (!Number.isFinite(timeout) || timeout < 0) {
    throw new UsageError(`--timeout must be a non-negative number of seconds`)
  }
  opts.timeout = timeout
  if (opts.url !== undefined && !/^wss?:\/\//.test(opts.url)) {
    throw new UsageError(`--url must start with ws:// or wss://`)
  }
  if (opts.doc !== undefined && !isValidAutomergeUrl(opts.doc)) {
    throw new UsageError(`--doc is not a valid automerge: URL: '${opts.doc}'`)
  }
  return { command, opts }
}

// Convert an Automerge document value to plain JSON-able data.
function toPlain(value) {
  if (value === null || value === undefined) return value ?? null
  if (isImmutableString(value)) return value.val
  if (typeof value === "string" || typeof value === "boolean") return value
  if (typeof value === "number") return value
  if (typeof value === "bigint") return value.toString()
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return Array.from(value)
  if (Array.isArray(value)) return value.map(toPlain)
  if (typeof value === "object") {
    if (typeof value.value === "number" && value.constructor?.name === "Counter") {
      return value.value
    }
    const out = {}
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v)
    return out
  }
  return String(value)
}

// Stringify a value at a path for `wait --equals` comparison.
function stringifyScalar(value) {
  const plain = toPlain(value)
  if (plain === undefined) return undefined
  return typeof plain === "string" ? plain : JSON.stringify(plain)
}

function getPath(doc, path) {
  let cur = doc
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object" || isImmutableString(cur)) return undefined
    cur = cur[key]
  }
  return cur
}

// JSON value -> initial Automerge value. Strings become ImmutableString
// (ScalarValue::Str) except for root keys listed in textKeys, which become
// collaborative text (plain JS strings in Automerge 3).
function fromJson(value, textKeys, isRoot = false) {
  if (typeof value === "string") return new ImmutableString(value)
  if (value === null || typeof value === "boolean" || typeof value === "number") return value
  if (Array.isArray(value)) return value.map(v => fromJson(v, textKeys))
  const out = {}
  for (const [k, v] of Object.entries(value)) {
    if (isRoot && textKeys.has(k)) {
      if (typeof v !== "string") throw new UsageError(`--text key '${k}' is not a string`)
      out[k] = v
    } else {
      out[k] = fromJson(v, textKeys)
    }
  }
  return out
}

// ----------------------------------------------------------------- tracing

function describe(msg) {
  const d = { type: msg.type }
  for (const k of ["senderId", "targetId", "documentId", "peerMetadata",
    "supportedProtocolVersions", "selectedProtocolVersion", "message",
    "add", "remove", "newHeads", "sessionId", "count"]) {
    if (msg[k] !== undefined) d[k] = msg[k]
  }
  if (msg.data instanceof Uint8Array) {
    d.bytes = msg.data.byteLength
    if (msg.type === "sync" || msg.type === "request") {
      try {
        const s = A.decodeSyncMessage(msg.data)
        d.sync = {
          heads: s.heads.length,
          need: s.need.length,
          have: s.have.length,
          changes: s.changes.length,
        }
      } catch {
        /* not a sync message */
      }
    }
  }
  const extra = Object.keys(msg).filter(k => !(k in d) && k !== "data")
  if (extra.length) d.otherFields = extra
  return JSON.stringify(d, (_k, v) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v))
}

function traceAdapter(adapter, who) {
  const origSend = adapter.send.bind(adapter)
  adapter.send = msg => {
    log(`[${who}] >> ${describe(msg)}`)
    return origSend(msg)
  }
  const origRecv = adapter.receiveMessage.bind(adapter)
  adapter.receiveMessage = (bytes, ...rest) => {
    try {
      log(`[${who}] << ${describe(cbor.decode(new Uint8Array(bytes)))}`)
    } catch (e) {
      log(`[${who}] << <undecodable ${bytes?.byteLength} bytes: ${e.message}>`)
    }
    return origRecv(bytes, ...rest)
  }
}

// ------------------------------------------------------------------ client

const openRepos = new Set()

// Connect a storage-less client Repo and wait until the server answered our
// join with a `peer` message (so requests go to a real peer instead of being
// declared unavailable by the adapter's 1s "force ready" fallback).
async function connectClient(url, trace, label = "client") {
  const adapter = new WebSocketClientAdapter(url, 500)
  if (trace) traceAdapter(adapter, label)
  const peerPromise = new Promise(resolve => adapter.once("peer-candidate", resolve))
  const repo = new Repo({ network: [adapter] })
  openRepos.add(repo)
  const { peerId, peerMetadata } = await peerPromise
  if (trace) log(`[${label}] connected to server peer ${peerId} metadata=${JSON.stringify(peerMetadata)}`)
  return repo
}

async function closeRepo(repo) {
  if (!openRepos.delete(repo)) return
  try {
    await repo.shutdown()
  } catch (e) {
    log(`warning: shutdown: ${e.message}`)
  }
}

// Find `docUrl`; rejects with UnavailableError if the server says it has none.
async function findDoc(repo, docUrl) {
  try {
    return await repo.find(docUrl)
  } catch (e) {
    if (/unavailable/i.test(e.message)) throw new UnavailableError(e.message)
    throw e
  }
}

// Like findDoc, but keeps retrying on a fresh connection while the server
// reports the document unavailable (until the global timeout fires).
async function findDocPersistently(url, docUrl, trace) {
  for (let attempt = 1; ; attempt++) {
    const repo = await connectClient(url, trace, attempt === 1 ? "client" : `client#${attempt}`)
    try {
      const handle = await findDoc(repo, docUrl)
      return { repo, handle }
    } catch (e) {
      await closeRepo(repo)
      if (!(e instanceof UnavailableError)) throw e
      await sleep(200)
    }
  }
}

// Resolve when `pred(handle.doc())` holds, re-checking on every change.
function waitForDoc(handle, pred, maxMs = Infinity) {
  return new Promise(resolve => {
    let timer
    const check = () => {
      if (pred(handle.doc())) {
        handle.off("change", check)
        clearTimeout(timer)
        resolve(true)
      }
    }
    handle.on("change", check)
    if (maxMs !== Infinity) {
      timer = setTimeout(() => {
        handle.off("change", check)
        resolve(false)
      }, maxMs)
    }
    check()
  })
}

// Prove that the server holds every change in `heads` (hex change hashes):
// open an independent client Repo on a new connection, fetch the document
// from the server and check that its history contains all of `heads`.
// Retries on fresh connections until it does (or the global timeout fires).
async function confirmServerHas(url, docUrl, heads, trace) {
  for (let attempt = 1; ; attempt++) {
    const repo = await connectClient(url, trace, `verifier#${attempt}`)
    try {
      const handle = await findDoc(repo, docUrl)
      // The verifier stays subscribed, so later changes stream in; give them a moment.
      if (await waitForDoc(handle, doc => A.hasHeads(doc, heads), 2000)) return
    } catch (e) {
      if (!(e instanceof UnavailableError)) throw e
    } finally {
      await closeRepo(repo)
    }
    await sleep(100)
  }
}

function setPath(doc, path, value) {
  const keys = path.split(".")
  let cur = doc
  for (const key of keys.slice(0, -1)) {
    const next = cur[key]
    if (next === undefined || next === null) {
      cur[key] = {}
    } else if (typeof next !== "object" || Array.isArray(next) || isImmutableString(next)) {
      throw new UsageError(`cannot set '${path}': '${key}' is not a map`)
    }
    cur = cur[key]
  }
  cur[keys[keys.length - 1]] = new ImmutableString(value)
}

function printJson(doc) {
  process.stdout.write(JSON.stringify(toPlain(doc)) + "\n")
}

// ---------------------------------------------------------------- commands

async function cmdCreate(o) {
  let json
  try {
    json = JSON.parse(o.json)
  } catch (e) {
    throw new UsageError(`--json is not valid JSON: ${e.message}`)
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new UsageError("--json must be a JSON object")
  }
  const textKeys = new Set((o.text ?? "").split(",").map(s => s.trim()).filter(Boolean))
  for (const k of textKeys) {
    if (!(k in json)) throw new UsageError(`--text key '${k}' is not in --json`)
  }
  const initial = fromJson(json, textKeys, true)
  const repo = await connectClient(o.url, o.trace)
  const handle = repo.create(initial)
  await confirmServerHas(o.url, handle.url, A.getHeads(handle.doc()), o.trace)
  await closeRepo(repo)
  process.stdout.write(handle.url + "\n")
  return 0
}

async function cmdEdit(o) {
  const sets = o.set.map(s => {
    const eq = s.indexOf("=")
    if (eq <= 0) throw new UsageError(`--set expects path=value, got '${s}'`)
    const path = s.slice(0, eq)
    if (path.split(".").some(k => k === "")) throw new UsageError(`bad path '${path}'`)
    return [path, s.slice(eq + 1)]
  })
  const { repo, handle } = await findDocPersistently(o.url, o.doc, o.trace)
  handle.change(doc => {
    for (const [path, value] of sets) setPath(doc, path, value)
  })
  await confirmServerHas(o.url, o.doc, A.getHeads(handle.doc()), o.trace)
  await closeRepo(repo)
  return 0
}

async function cmdGet(o) {
  const repo = await connectClient(o.url, o.trace)
  try {
    const handle = await findDoc(repo, o.doc)
    printJson(handle.doc())
    return 0
  } catch (e) {
    if (e instanceof UnavailableError) {
      log("unavailable")
      return 2
    }
    throw e
  } finally {
    await closeRepo(repo)
  }
}

async function cmdWait(o) {
  const { repo, handle } = await findDocPersistently(o.url, o.doc, o.trace)
  await waitForDoc(handle, doc => stringifyScalar(getPath(doc, o.path)) === o.equals)
  printJson(handle.doc())
  await closeRepo(repo)
  return 0
}

async function cmdServer(o) {
  const port = Number(o.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("bad --port")
  fs.mkdirSync(o.dir, { recursive: true })
  const wss = new WebSocketServer({ host: "127.0.0.1", port })
  await new Promise((resolve, reject) => {
    wss.once("listening", resolve)
    wss.once("error", reject)
  })
  const adapter = new WebSocketServerAdapter(wss)
  if (o.trace) traceAdapter(adapter, "server")
  const repo = new Repo({
    network: [adapter],
    storage: new NodeFSStorageAdapter(o.dir),
    // Like automerge-repo's examples/sync-server: never announce documents to
    // peers; only answer peers that ask for a document by id.
    sharePolicy: async () => false,
  })
  // The Repo hooks its adapter to the socket server asynchronously: a client that
  // connects before that is dropped, so say "listening" only once it is hooked.
  while (wss.listenerCount("connection") === 0) await sleep(5)
  process.stdout.write(`listening ${wss.address().port}\n`)

  let stopping = false
  const stop = async (code, why) => {
    if (stopping) return
    stopping = true
    if (why) log(why)
    const t0 = Date.now()
    // Drop all client connections, then flush every loaded document to disk.
    // (Repo.shutdown() in 2.5.x rejects as soon as one handle is not ready,
    // e.g. a document a client asked for that we never had, so flush only
    // the ready ones ourselves.)
    adapter.disconnect()
    const ready = Object.values(repo.handles)
      .filter(h => h.isReady())
      .map(h => h.documentId)
    try {
      await repo.flush(ready)
    } catch (e) {
      log(`warning: flush: ${e.message}`)
    }
    await new Promise(resolve => wss.close(() => resolve()))
    if (o.trace) log(`[server] flushed ${ready.length} document(s), stopped in ${Date.now() - t0}ms`)
    exit(code)
  }
  process.on("SIGTERM", () => void stop(0))
  process.on("SIGINT", () => void stop(0))
  serverStop = stop
  return new Promise(() => {}) // run until a signal or the timeout
}

let serverStop = null

// Fills a store the way the reference server would keep documents it received: a Repo on
// NodeFSStorageAdapter imports each one under its id and writes it; a batch at a time, then
// drops them from memory.
async function cmdImport(o) {
  const bytes = fs.readFileSync(o.file)
  const repo = new Repo({ network: [], storage: new NodeFSStorageAdapter(o.dir) })
  openRepos.add(repo)
  let at = 0
  let count = 0
  let batch = []
  const u32 = () => {
    if (at + 4 > bytes.length) throw new UsageError(`${o.file} is cut short at byte ${at}`)
    const n = bytes.readUInt32LE(at)
    at += 4
    if (at + n > bytes.length) throw new UsageError(`${o.file} is cut short at byte ${at}`)
    return n
  }
  const flush = async () => {
    await repo.flush(batch)
    for (const id of batch) await repo.removeFromCache(id)
    batch = []
  }
  while (at < bytes.length) {
    const idLength = u32()
    const id = bytes.subarray(at, at + idLength).toString("utf8")
    at += idLength
    const length = u32()
    const doc = new Uint8Array(bytes.subarray(at, at + length))
    at += length
    repo.import(doc, { docId: id })
    batch.push(id)
    count++
    if (batch.length === 1000) {
      await flush()
      if (count % 10000 === 0) log(`imported ${count}`)
    }
  }
  await flush()
  process.stdout.write(`imported ${count}\n`)
  return 0
}

// -------------------------------------------------------------------- main

async function main() {
  let parsed
  try {
    parsed = parseArgs(process.argv.slice(2))
  } catch (e) {
    if (e instanceof UsageError) {
      log(`error: ${e.message}\n\n${USAGE}`)
      return exit(1)
    }
    throw e
  }
  if (parsed.command === "help") {
    process.stdout.write(USAGE + "\n")
    return exit(0)
  }
  const { command, opts } = parsed

  if (opts.timeout > 0) {
    const t = setTimeout(() => {
      const why = `timeout: '${command}' did not finish within ${opts.timeout}s`
      if (serverStop) return void serverStop(3, why)
      log(why)
      exit(3)
    }, opts.timeout * 1000)
  }

  const run = {
    server: cmdServer,
    create: cmdCreate,
    edit: cmdEdit,
    get: cmdGet,
    wait: cmdWait,
    import: cmdImport,
  }[command]
  try {
    const code = await run(opts)
    for (const repo of [...openRepos]) await closeRepo(repo)
    exit(code)
  } catch (e) {
    if (e instanceof UsageError) log(`error: ${e.message}`)
    else if (e instanceof UnavailableError) {
      log("unavailable")
      return exit(2)
    } else log(`error: ${e?.stack ?? e}`)
    exit(1)
  }
}

process.on("uncaughtException", e => {
  log(`error: ${e?.stack ?? e}`)
  exit(1)
})

main()
