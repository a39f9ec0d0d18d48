// Roles and refused changes in the web client, end to end: the real fiche-server with accounts
// on, `fiche` devices of other members, Debian's Chromium. A read-only member's page offers no
// edit; a change the server refuses shows on its card, the rest goes on syncing, and dropping
// it brings back the organisation's version; the badge never says "up to date" meanwhile.
import { test, after } from "node:test"
import assert from "node:assert/strict"
import { join } from "node:path"
import { ARTEFACTS, Device, Server, finish, launch, synced, until } from "./harness.mjs"

after(finish)

/** A server with organisation "acme": an admin's device (`office`) and a member of `role` whose
 * enrolment code the browser signs in with. */
async function acme(role) {
  const ids = {}
  const server = await Server.start({
    auth: true,
    before: async s => {
      await s.admin("org-create", "acme", "--name", "Acme Heating")
      ids.admin = await s.admin("member-add", "acme", "Anne", "--role", "admin")
      ids.member = await s.admin("member-add", "acme", "Sam", "--role", role)
      ids.office = await s.admin("device-enrol", ids.admin)
      ids.browser = await s.admin("device-enrol", ids.member)
    },
  })
  const office = new Device("office")
  await office.fiche("enrol", "--server", server.ws, ids.office)
  return { server, office, ids }
}

/** A fresh browser profile signed in on `server` with the enrolment code `code`. */
async function signedIn(server, code) {
  const context = await (await launch()).newContext({ viewport: { width: 1400, height: 900 } })
  const page = await context.newPage()
  page.on("pageerror", e => console.error("page error:", e.message))
  await page.goto(server.url + "/")
  await page.fill("[data-signin]", code)
  await page.click(".signin button[type=submit]")
  await page.waitForSelector('[data-sync="online"]', { timeout: 30_000 })
  return { context, page }
}

async function openCard(page, name) {
  await page.fill("[data-search]", name)
  await page.click(`[data-client-id]:has-text("${name}")`)
  await page.waitForSelector(`[data-card] [data-card-title]:has-text("${name}")`)
}

const badge = page => page.locator("[data-sync]")
const cityOf = page => page.locator('[data-card] [data-field="address.city"]').inputValue()

test("a read-only member's page shows no edit control: no new client, fields disabled, no add or remove", async () => {
  const { server, office, ids } = await acme("read-only")
  await office.add("--name", "Famille Martin", "--city", "Lyon", "--phone", "06 11 22 33 44", "--group", "vip")
  await office.sync(server)
  const { context, page } = await signedIn(server, ids.browser)
  await synced(page, 1)
  await openCard(page, "Famille Martin")
  await page.waitForSelector("[data-read-only]")

  assert.equal(await page.locator("[data-new]").count(), 0, "no New client button")
  assert.equal(await page.locator("[data-card] .remove").count(), 0, "no remove button")
  assert.equal(await page.locator("[data-card] .add, [data-card] [data-add]").count(), 0, "no add row")
  assert.equal(await page.locator('[data-card] [aria-label^="remove "]').count(), 0, "no chip removal")
  const controls = await page.locator("[data-card] fieldset input, [data-card] fieldset select, [data-card] fieldset textarea, [data-card] fieldset button").evaluateAll(els =>
    els.map(e => ({ field: e.getAttribute("data-field") ?? e.tagName, disabled: e.matches(":disabled") })),
  )
  assert.ok(controls.length >= 15, `the card's fields are there (${controls.length})`)
  assert.deepEqual(controls.filter(c => !c.disabled), [], "every field is read-only")
  assert.equal(await cityOf(page), "Lyon")
  // `n` opens no form either.
  await page.locator("[data-card-title]").click()
  await page.keyboard.press("n")
  assert.equal(await page.locator('[role="dialog"][aria-label="new client"]').count(), 0)
  await page.screenshot({ path: join(ARTEFACTS, "read-only-card.png") })
  await context.close()
  await server.down()
})

test("a change refused by the server shows on its card; the other records sync; Drop my change brings back the office's value", async () => {
  const { server, office, ids } = await acme("staff")
  const martin = await office.add("--name", "Famille Martin", "--city", "Lyon")
  const dupont = await office.add("--name", "Dupont SARL", "--city", "Brest")
  await office.sync(server)
  const { context, page } = await signedIn(server, ids.browser)
  await synced(page, 2)
  await until("up to date", async () => (await badge(page).textContent()).startsWith("up to date"), 30_000)
  await openCard(page, "Famille Martin")
  await page.evaluate(() => window.fiche.peer.flush())

  // An edit made offline, then the member demoted to read-only before the server comes back.
  await server.down()
  await page.waitForSelector('[data-sync="offline"]', { timeout: 15_000 })
  const city = page.locator('[data-card] [data-field="address.city"]')
  await city.fill("Paris")
  await city.press("Enter")
  await until("the offline change counted", async () => (await badge(page).getAttribute("data-waiting")) === "1", 15_000)
  assert.match(await badge(page).textContent(), /^offline: 1 change kept here/)
  await server.admin("member-role", ids.member, "read-only")
  await server.up()

  // The server refuses it, for that record alone: said on the card, marked in the list.
  const refusal = page.locator(`[data-refusal="${martin}"]`)
  await refusal.waitFor({ timeout: 30_000 })
  const said = await refusal.locator("p").textContent()
  assert.equal(said.trim(), "Your change to Famille Martin was refused: you are read-only: changes are refused")
  await page.waitForSelector(`[data-client-id="${martin}"][data-refused]`)
  assert.equal(await page.locator("[data-client-id][data-refused]").count(), 1)
  await until("the badge counts the refusal", async () => (await badge(page).getAttribute("data-refused")) === "1", 15_000)
  const text = await badge(page).textContent()
  assert.ok(!text.includes("up to date"), text)
  assert.match(text, /1 refused/)
  // The page now knows the role: nothing editable but the way back.
  await page.waitForSelector("[data-read-only]", { timeout: 15_000 })
  assert.equal(await city.isDisabled(), true)
  await page.screenshot({ path: join(ARTEFACTS, "refused-card.png") })

  // The rest keeps syncing: the office's edit of another client arrives on the same page.
  await office.fiche("edit", dupont, "--city", "Nantes")
  await office.sync(server)
  await page.fill("[data-search]", "")
  await page.waitForSelector(`[data-client-id="${dupont}"]:has-text("Nantes")`, { timeout: 30_000 })
  assert.equal(await refusal.count(), 1, "the refusal stays until dropped")

  // Kept across a reload, with the server down (no new refusal can have said it again).
  await server.down()
  await page.waitForSelector('[data-sync="offline"]', { timeout: 15_000 })
  await page.reload()
  await openCard(page, "Famille Martin")
  await refusal.waitFor({ timeout: 15_000 })
  await until("the refused change counted", async () => /^offline: 1 change kept here/.test(await badge(page).textContent()), 15_000)
  await server.up()
  await page.waitForSelector('[data-sync="online"]', { timeout: 30_000 })

  // Dropped: the organisation's version comes back, the one the office holds.
  await refusal.locator("[data-drop]").click()
  await until("the office's city back", async () => (await cityOf(page)) === "Lyon", 30_000)
  const shown = JSON.parse(await office.fiche("show", martin, "--json"))
  assert.equal(shown.client.address.city, "Lyon")
  assert.equal(await refusal.count(), 0)
  assert.equal(await page.locator("[data-client-id][data-refused]").count(), 0)
  await until("up to date again", async () => (await badge(page).textContent()).startsWith("up to date"), 30_000)
  assert.equal(await badge(page).getAttribute("data-refused"), "0")
  // Gone from the browser's storage too: a reload still shows the office's value, no refusal.
  await page.reload()
  await openCard(page, "Famille Martin")
  await until("Lyon after a reload", async () => (await cityOf(page)) === "Lyon", 30_000)
  assert.equal(await refusal.count(), 0)
  await context.close()
  await server.down()
})

test("a staff member's change to the settings is refused for the settings alone; the badge says so", async () => {
  const { server, office, ids } = await acme("staff")
  await office.fiche("settings", "add-type", "club", "Club")
  const martin = await office.add("--name", "Famille Martin", "--city", "Lyon")
  await office.sync(server)
  const { context, page } = await signedIn(server, ids.browser)
  await synced(page, 1)
  await until("up to date", async () => (await badge(page).textContent()).startsWith("up to date"), 30_000)
  // Forced past the page (which offers no settings editing): straight into the document.
  await until("the settings changed in the browser", () => page.evaluate(() => {
    const handles = Object.values(window.fiche.peer.repo.handles)
    const settings = handles.find(h => h.isReady() && String(h.doc()?.kind) === "settings")
    settings?.change(d => {
      d.client_types.shop = { label: "Shop" }
    })
    return settings !== undefined
  }), 30_000)
  await until("the refusal counted", async () => (await badge(page).getAttribute("data-refused")) === "1", 30_000)
  const text = await badge(page).textContent()
  assert.ok(!text.includes("up to date"), text)
  assert.match(await badge(page).getAttribute("title"), /only an owner or an admin changes the settings/)
  // The client still syncs: an office edit arrives.
  await openCard(page, "Famille Martin")
  await office.fiche("edit", martin, "--city", "Nantes")
  await office.sync(server)
  await until("the office's edit", async () => (await cityOf(page)) === "Nantes", 30_000)
  await context.close()
  await server.down()
})
