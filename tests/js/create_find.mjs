#!/usr/bin/env node
// Create-then-find-at-once through a sync server, with the official automerge-repo client:
// in each run, A creates and changes a document, waits for its network to be ready, and B
// (a fresh repo) finds it at once; C, a peer of another organisation, asks for the same id
// at the same moment and must get nothing of it.
//
// Usage: node create_find.mjs --a URL --b URL [--other URL] [--runs N]
// Prints one JSON line: {"runs","found","failures","otherGot","otherAnswers","ms"}.

import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const args = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const [urlA, urlB, urlOther] = [opt("a"), opt("b"), opt("other")]
const runs = Number(opt("runs", "100"))
if (!urlA || !urlB || !(runs > 0)) {
  process.stderr.write("usage: node create_find.mjs --a URL --b URL [--other URL] [--runs N]\n")
  process.exit(1)
}

// A repo connected to `url`, once the server answered its join.
async function connect(url) {
  const adapter = new WebSocketClientAdapter(url, 500)
  const joined = new Promise(resolve => adapter.once("peer-candidate", resolve))
  const repo = new Repo({ network: [adapter] })
  await joined
  return repo
}

const within = (promise, ms) =>
  Promise.race([promise, new Promise(resolve => setTimeout(() => resolve("timeout"), ms))])

const started = Date.now()
const other = urlOther ? await connect(urlOther) : null
const otherFinds = []
let found = 0
const failures = []
for (let run = 0; run < runs; run++) {
  const [a, b] = await Promise.all([connect(urlA), connect(urlB)])
  const handle = a.create()
  const name = `Created in run ${run}`
  handle.change(d => {
    d.name = name
  })
  await a.networkSubsystem.whenReady()
  if (other) {
    otherFinds.push(
      other.find(handle.url).then(h => h.doc()?.name ?? "(empty)", e => `rejected: ${e.message}`),
    )
  }
  try {
    const got = await within(b.find(handle.url), 10_000)
    const doc = got === "timeout" ? null : got.doc()
    if (doc?.name === name) found++
    else failures.push(`run ${run}: ${got === "timeout" ? "timed out" : JSON.stringify(doc)}`)
  } catch (e) {
    failures.push(`run ${run}: ${e.message}`)
  }
  await Promise.all([a.shutdown(), b.shutdown()])
}
// What the other organisation's peer got: never a document, whether refused or not answered.
const answers = await Promise.all(otherFinds.map(f => within(f, 8_000)))
const otherGot = answers.filter(a => a !== "timeout" && !String(a).startsWith("rejected")).length
const otherAnswers = {}
for (const a of answers) {
  const kind = a === "timeout" ? "no answer" : String(a).startsWith("rejected") ? "unavailable" : "got it"
  otherAnswers[kind] = (otherAnswers[kind] ?? 0) + 1
}
process.stdout.write(
  JSON.stringify({ runs, found, failures, otherGot, otherAnswers, ms: Date.now() - started }) + "\n",
  () => process.exit(0),
)
