#!/usr/bin/env node
// Runs the unit tests (test/unit/*.test.ts) with node's test runner: each is bundled by
// esbuild for node first (this Node has no TypeScript of its own).
import { readdirSync, rmSync } from "node:fs"
import { spawnSync } from "node:child_process"
import { build } from "esbuild"

const dir = new URL("../test/unit/", import.meta.url).pathname
const out = new URL("../node_modules/.fiche-unit/", import.meta.url).pathname
rmSync(out, { recursive: true, force: true })
const tests = readdirSync(dir).filter(f => f.endsWith(".test.ts"))
await build({
  entryPoints: tests.map(f => dir + f),
  outdir: out,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  packages: "external",
  logLevel: "warning",
})
const run = spawnSync(process.execPath, ["--test", ...tests.map(f => out + f.replace(/\.ts$/, ".mjs"))], {
  stdio: "inherit",
  env: { ...process.env, FICHE_WEB_ROOT: new URL("..", import.meta.url).pathname },
})
process.exit(run.status ?? 1)
