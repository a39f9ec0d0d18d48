// Starts the web client: loads Automerge's wasm, signs in when the server needs a token,
// opens the peer (IndexedDB + WebSocket) and shows the app. The service worker keeps the
// app shell so this page opens with the server down.
import { initializeWasm } from "@automerge/automerge-repo/slim"
import wasmUrl from "@automerge/automerge/automerge.wasm?url"
import { render } from "preact"
import { useState } from "preact/hooks"
import { Peer } from "./peer"
import * as session from "./session"
import { App } from "./ui/App"
import "./styles.css"

const root = document.getElementById("app")!

declare global {
  interface Window {
    fiche?: { peer: Peer; started: number; firstRender?: number }
  }
}

function SignIn({ onDone }: { onDone: () => void }) {
  const [text, setText] = useState("")
  const [name, setName] = useState("Web browser")
  const [error, setError] = useState("")
  const submit = async (e: Event) => {
    e.preventDefault()
    setError("")
    try {
      if (text.trim().startsWith("fiche_")) {
        if (!(await session.tokenWorks(text.trim()))) throw new Error("the server does not know this token")
        session.signIn(text.trim(), session.member())
      } else {
        const enrolled = await session.enrol(text, name)
        session.signIn(enrolled.token, enrolled.member)
      }
      // The role is known before the first screen (and asked again on each connection).
      await session.me()
      onDone()
    } catch (err) {
      setError(String((err as Error).message ?? err))
    }
  }
  return (
    <form class="signin" onSubmit={submit}>
      <h1>Fiche</h1>
      <p>This server needs a device token. Paste the token of this device, or the one-time enrolment code an administrator gave you (<code>fiche-server admin device-enrol MEMBER</code>).</p>
      <label class="field">
        <span class="label">Token or enrolment code</span>
        <input data-signin value={text} onInput={e => setText((e.target as HTMLInputElement).value)} autoFocus />
      </label>
      <label class="field">
        <span class="label">This device's name</span>
        <input value={name} onInput={e => setName((e.target as HTMLInputElement).value)} />
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit">Sign in</button>
    </form>
  )
}

async function start() {
  const started = performance.now()
  if ("serviceWorker" in navigator && location.hostname !== "" && !import.meta.env.DEV) {
    navigator.serviceWorker.register("/sw.js").catch(e => console.warn("no service worker:", e))
  }
  await initializeWasm(wasmUrl)
  root.replaceChildren() // the boot line; Preact renders beside what it did not create
  if ((await session.authRequired()) && !session.token()) {
    await new Promise<void>(done => render(<SignIn onDone={done} />, root))
  }
  const peer = new Peer({
    wsUrl: session.wsUrl(),
    member: session.member(),
    device: session.device(),
    refused: session.tokenRefused,
    role: session.keptRole(),
    me: session.me,
  })
  window.fiche = { peer, started }
  render(<App peer={peer} />, root)
  // Saves are throttled: what arrived in the last moments is written before the page goes.
  addEventListener("pagehide", () => void peer.flush().catch(() => {}))
  await peer.start()
}

start().catch(e => {
  root.textContent = `Fiche could not start: ${e}`
  console.error(e)
})
