// What the end-to-end tests share: the real fiche-server on a free 127.0.0.1 port with a
// temporary data directory (--no-auth), the real `fiche` device CLI, and Debian's Chromium
// driven by playwright-core. Every process started here is killed when the test process
// exits, whatever happens.
import { spawn, execFile } from "node:child_process"
import { mkdtempSync, mkdirSync, rmSync } from "node:fs"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { chromium } from "playwright-core"

const run = promisify(execFile)
const web = new URL("../..", import.meta.url).pathname
const target = process.env.CARGO_TARGET_DIR ?? join(web, "../target")
export const SERVER = process.env.FICHE_SERVER ?? join(target, "debug/fiche-server")
export const CLI = process.env.FICHE_CLI ?? join(target, "debug/fiche")
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium"
export const ARTEFACTS = join(web, "test-results")
mkdirSync(ARTEFACTS, { recursive: true })

const children = new Set()
const cleanups = []
function killAll() {
  for (const c of children) {
    try {
      c.kill("SIGKILL")
    } catch {}
  }
  for (const f of cleanups) {
    try {
      f()
    } catch {}
  }
}
process.on("exit", killAll)
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130))

export function tempDir(name) {
  const dir = mkdtempSync(join(tmpdir(), `fiche-web-${name}-`))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Polls `f` until it returns a truthy value; fails after `timeout` ms with `what`. */
export async function until(what, f, timeout = 30_000, every = 25) {
  const end = Date.now() + timeout
  let last
  for (;;) {
    try {
      const v = await f()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`)
    await new Promise(r => setTimeout(r, every))
  }
}

/** The real fiche-server, serving the web client from web/dist. */
export class Server {
  constructor({ port, dataDir, auth = false }) {
    this.port = port
    this.dataDir = dataDir
    this.auth = auth
    this.url = `http://127.0.0.1:${port}`
    this.ws = `ws://127.0.0.1:${port}`
  }

  /** Started open (`--no-auth`), or, with `auth`, letting in enrolled devices only; `before`
   * runs on the data directory first (to create organisations with `admin`). */
  static async start({ auth = false, before = async () => {} } = {}) {
    const s = new Server({ port: await freePort(), dataDir: tempDir("data"), auth })
    await before(s)
    await s.up()
    return s
  }

  /** `fiche-server admin ARGS…` on this server's data directory; its output, trimmed. */
  async admin(...args) {
    const { stdout } = await run(SERVER, ["--data-dir", this.dataDir, "admin", ...args], { timeout: 60_000 })
    return stdout.trim()
  }

  async up() {
    const args = ["--listen", `127.0.0.1:${this.port}`, "--data-dir", this.dataDir, ...(this.auth ? [] : ["--no-auth"]), "--web-dir", join(web, "dist"), "--log", "warn"]
    const child = spawn(SERVER, args, { stdio: ["ignore", "pipe", "pipe"] })
    children.add(child)
    this.child = child
    this.log = ""
    child.stderr.on("data", d => (this.log += d))
    child.on("exit", () => children.delete(child))
    await until(`fiche-server on ${this.port}`, async () => (await fetch(`${this.url}/health`)).ok, 30_000, 50)
  }

  /** Stops the server (SIGTERM, then waits for it to exit). */
  async down() {
    const child = this.child
    if (!child || child.exitCode !== null) return
    const exited = new Promise(r => child.once("exit", r))
    child.kill("SIGTERM")
    await Promise.race([exited, new Promise(r => setTimeout(r, 10_000))])
    if (child.exitCode === null) child.kill("SIGKILL")
  }
}

/** A loopback proxy in front of `server` that holds every WebSocket handshake for `delay` ms
 * (a slow link: the page loads at once, the sync connection comes late). Its `url` and `ws`
 * stand in for the server's. */
export async function slowSyncProxy(server, delay) {
  const proxy = createServer(client => {
    client.once("data", first => {
      const upstream = connect(server.port, "127.0.0.1")
      const go = () => {
        upstream.write(first)
        client.pipe(upstream).pipe(client)
      }
      upstream.on("error", () => client.destroy())
      client.on("error", () => upstream.destroy())
      if (/^upgrade:\s*websocket/im.test(first.toString("latin1"))) setTimeout(go, delay)
      else go()
    })
  })
  await new Promise(r => proxy.listen(0, "127.0.0.1", r))
  cleanups.push(() => proxy.close())
  const { port } = proxy.address()
  return { port, url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, close: () => proxy.close() }
}

/** A device: the `fiche` CLI over a store of its own. */
export class Device {
  constructor(name) {
    this.store = tempDir(`device-${name}`)
  }

  async fiche(...args) {
    const { stdout } = await run(CLI, ["--store", this.store, ...args], { timeout: 120_000, maxBuffer: 64 << 20 })
    return stdout
  }

  /** `fiche add ARGS…`: the new client's id. */
  async add(...args) {
    return (await this.fiche("add", ...args)).trim().split("\n")[0]
  }

  /** `fiche sync` with `server`, once. */
  sync(server) {
    return this.fiche("sync", "--server", server.ws)
  }

  /** `fiche watch`: live sync until stopped; its output lines are kept. */
  watch(server) {
    const child = spawn(CLI, ["--store", this.store, "watch", "--server", server.ws], { stdio: ["ignore", "pipe", "pipe"] })
    children.add(child)
    child.on("exit", () => children.delete(child))
    const w = { child, out: "" }
    child.stdout.on("data", d => (w.out += d))
    child.stderr.on("data", d => (w.out += d))
    w.stop = async () => {
      if (child.exitCode !== null) return
      const exited = new Promise(r => child.once("exit", r))
      child.kill("SIGINT")
      await Promise.race([exited, new Promise(r => setTimeout(r, 5000))])
      if (child.exitCode === null) child.kill("SIGKILL")
    }
    return w
  }
}

let browser
export async function launch() {
  browser ??= await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  })
  cleanups.push(() => browser?.close())
  return browser
}

/** A fresh browser profile (its own IndexedDB) with the app open on `server`. */
export async function openApp(server, { viewport = { width: 1400, height: 900 } } = {}) {
  const b = await launch()
  const context = await b.newContext({ viewport })
  const page = await context.newPage()
  page.on("pageerror", e => console.error("page error:", e.message))
  await page.goto(server.url + "/")
  await page.waitForSelector("[data-sync]")
  return { context, page }
}

/** Waits until the app is connected and has loaded every client its directory lists. */
export async function synced(page, count, timeout = 60_000) {
  await page.waitForFunction(
    n => {
      const s = document.querySelector("[data-sync]")
      return s && s.dataset.sync === "online" && Number(s.dataset.loaded) >= n && s.dataset.loaded === s.dataset.listed
    },
    count,
    { timeout, polling: 50 },
  )
}

/** Closes the browser and stops every server and device still running: a test that failed
 * before stopping its server would otherwise keep the test process alive until its timeout. */
export async function finish() {
  await browser?.close()
  browser = undefined
  killAll()
}
