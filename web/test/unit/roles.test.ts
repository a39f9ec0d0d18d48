// The page's role rules against fiche-core's own table: the rows of the test in
// core/src/roles.rs (`check(Role::Owner, [true, true, true])`: client, contact, settings) are
// read from that file, so a change of policy there fails here until the page follows.
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { ROLES, type Role, mayChange, mayCreate, mayEdit, mayManage, refusal, role } from "../../src/roles"

const root = process.env.FICHE_WEB_ROOT ?? "."
const core = readFileSync(`${root}/../core/src/roles.rs`, "utf8")

const variant: Record<string, Role> = { Owner: "owner", Admin: "admin", Manager: "manager", Staff: "staff", Technician: "technician", ReadOnly: "read-only" }

test("each role may change what fiche-core's table says, and no more", () => {
  const rows = [...core.matchAll(/check\(Role::(\w+), \[(true|false), (true|false), (true|false)\]\)/g)]
  assert.equal(rows.length, ROLES.length, "one row per role in core/src/roles.rs")
  for (const [, name, client, contact, settings] of rows) {
    const r = variant[name]
    assert.ok(r, `a role the page knows: ${name}`)
    const expected = [client, contact, settings].map(v => v === "true")
    assert.deepEqual([mayChange(r, "client"), mayChange(r, "contact"), mayChange(r, "settings")], expected, r)
    assert.equal(mayCreate(r), expected[0], r)
    assert.equal(mayEdit(r), expected[0], r)
    assert.equal(mayManage(r), expected[2], r)
  }
})

test("the server's names of the roles are read, anything else is not a role", () => {
  for (const r of ROLES) assert.equal(role(r), r)
  assert.equal(role("readonly"), undefined)
  assert.equal(role(undefined), undefined)
  // The names the core writes (serde kebab-case) are the page's.
  for (const [, name] of core.matchAll(/Role::\w+ => "([a-z-]+)"/g)) assert.ok(ROLES.includes(name as Role), name)
})

test("the reasons said to the member are fiche-core's", () => {
  const said = [...core.matchAll(/Role::(\w+)\.refusal\(Kind::(\w+)\)(?:\.as_deref\(\))?,\s*(?:Some\("([^"]+)"\)|None)/g)]
  assert.ok(said.length >= 3, "the core's test names its reasons")
  for (const [, name, kind, reason] of said) assert.equal(refusal(variant[name], kind.toLowerCase() as "client" | "settings"), reason, `${name} ${kind}`)
})
