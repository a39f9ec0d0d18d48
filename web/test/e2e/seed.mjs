// Seeds a server with N client records quickly: an official automerge-repo peer in Node
// writes them in fiche-core's layout (scalar strings, `kind`/`schema` envelope, phones and
// e-mails keyed by UUID) and syncs them; the server lists each in the directory.
import { randomUUID } from "node:crypto"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { ImmutableString, Uint } from "@automerge/automerge"

const FIRST = ["Marie", "Jean", "Luc", "Anne", "Paul", "Sophie", "Louis", "Emma", "Hugo", "Chloé", "Léa", "Nathan", "Inès", "Tom", "Zoé"]
const LAST = ["Dupont", "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Michel", "Garcia", "David"]
const CITIES = ["Lyon", "Paris", "Nantes", "Lille", "Nice", "Rennes", "Metz", "Dijon", "Brest", "Tours"]
const s = v => new ImmutableString(v)

function client(i) {
  const first = FIRST[i % FIRST.length]
  const last = `${LAST[(i * 7) % LAST.length]} ${i}`
  return {
    kind: s("client"),
    schema: new Uint(2),
    client_type: s("person"),
    status: s(i % 3 === 0 ? "client" : "prospect"),
    archived: false,
    manager: null,
    name: { display: s(""), first: s(first), last: s(last) },
    birthday: null,
    phones: { [randomUUID()]: { label: s("mobile"), number: s(`+336${String(10000000 + i).padStart(8, "0")}`) } },
    emails: { [randomUUID()]: { label: s(""), address: s(`c${i}@example.com`) } },
    address: { street: s(""), city: s(CITIES[i % CITIES.length]), region: s(""), postal_code: s(""), country: s("FR") },
    groups: { [i % 10 === 0 ? "vip" : "std"]: true },
    notes: "",
  }
}

const BATCH = 1000

/** Writes `count` clients to the server at `ws` and returns once it stores them all. */
export async function seed(ws, httpUrl, count) {
  const before = (await (await fetch(`${httpUrl}/health`)).json()).documents_stored
  const end = Date.now() + 240_000
  // In batches, each by a peer of its own: one repo holding thousands of handles slows down.
  for (let done = 0; done < count; ) {
    const batch = Math.min(BATCH, count - done)
    const repo = new Repo({ network: [new WebSocketClientAdapter(ws)], sharePolicy: async () => true })
    for (let i = done; i < done + batch; i++) {
      // Written in a change: `repo.create(value)` writes a `Uint` as a map ({ value: 2 }), so
      // the schema version would read as 1 and the server would take the record for an old one.
      const record = client(i)
      repo.create().change(d => Object.assign(d, record))
    }
    done += batch
    for (;;) {
      const stored = (await (await fetch(`${httpUrl}/health`)).json()).documents_stored
      if (stored >= before + done) break
      if (Date.now() > end) throw new Error(`seeding: the server stores ${stored - before} of ${done}`)
      await new Promise(r => setTimeout(r, 100))
    }
    await repo.shutdown()
  }
}
