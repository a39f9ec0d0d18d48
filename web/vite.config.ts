// The web client's build: one ES module bundle for current browsers (top-level await, wasm
// loaded by URL), plus a service worker that precaches every file of the build.
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { defineConfig, type Plugin } from "vite"

/** Emits `sw.js`: the template with this build's file list and a version derived from it. */
function serviceWorker(): Plugin {
  return {
    name: "fiche-service-worker",
    apply: "build",
    enforce: "post",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter(f => !f.endsWith(".map") && f !== "index.html")
        .sort()
      const version = createHash("sha256").update(files.join("\n")).digest("hex").slice(0, 16)
      const source = readFileSync(new URL("./src/sw.template.js", import.meta.url), "utf8")
        .replace("__PRECACHE__", JSON.stringify(["/", ...files.map(f => "/" + f)]))
        .replace("__VERSION__", version)
      this.emitFile({ type: "asset", fileName: "sw.js", source })
    },
  }
}

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 4096,
  },
  plugins: [serviceWorker()],
})
