import { Server, openApp, synced, closeBrowser, launch } from "./harness.mjs"
import { seed } from "./seed.mjs"
const N = Number(process.env.N ?? 2000)
const s = await Server.start()
await seed(s.ws, s.url, N)
const b = await launch()
const ctx = await b.newContext({ viewport: { width: 1400, height: 900 } })
const page = await ctx.newPage()
const t0 = Date.now()
await page.goto(s.url + "/")
await page.waitForSelector("[data-client-id]", { timeout: 300000 })
const tFirst = Date.now() - t0
const t = Date.now()
for (;;) {
  const st = await page.evaluate(() => { const e = document.querySelector("[data-sync]"); return e ? [e.dataset.loaded, e.dataset.listed] : null })
  if (st && Number(st[0]) >= N) break
  if (Date.now() - t > 280000) { console.log("stuck at", st); break }
  await new Promise(r => setTimeout(r, 250))
}
console.log(`N=${N} first rows ${tFirst} ms, all ${Date.now() - t0} ms`)
const t1 = Date.now()
await page.reload()
await page.waitForFunction(n => Number(document.querySelector("[data-sync]")?.dataset.loaded) >= n, N, { timeout: 300000, polling: 100 })
console.log(`reload (IndexedDB) all ${Date.now() - t1} ms`)
const mem = await page.evaluate(() => performance.memory?.usedJSHeapSize)
console.log("heap", mem)
await closeBrowser(); await s.down(); process.exit(0)
