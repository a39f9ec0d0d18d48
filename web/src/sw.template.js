// Fiche's service worker: keeps the app shell (every file of the build) so the client opens
// with the server down. Records themselves live in IndexedDB (automerge-repo's storage), not
// here. Navigations try the network first and fall back to the cached shell; built files are
// content-hashed and served from the cache; blobs (content-addressed) are cached once seen.
// Sync (WebSocket) and the API are never touched.
const VERSION = "__VERSION__"
const SHELL = __PRECACHE__
const CACHE = "fiche-shell-" + VERSION
const BLOBS = "fiche-blobs"

self.addEventListener("install", event => {
  event.waitUntil(caches.open(CACHE).then(cache => cache.addAll(SHELL)).then(() => self.skipWaiting()))
})

self.addEventListener("activate", event => {
  event.waitUntil(
    caches
      .keys()
      .then(keys => Promise.all(keys.filter(k => k.startsWith("fiche-shell-") && k !== CACHE).map(k => caches.delete(k))))
      .then(() => self.clients.claim()),
  )
})

self.addEventListener("fetch", event => {
  const request = event.request
  if (request.method !== "GET") return
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.open(CACHE).then(cache => cache.match("/"))),
    )
    return
  }
  if (url.pathname.startsWith("/blobs/")) {
    event.respondWith(
      caches.open(BLOBS).then(cache =>
        cache.match(request).then(
          hit =>
            hit ||
            fetch(request).then(response => {
              if (response.status === 200) cache.put(request, response.clone())
              return response
            }),
        ),
      ),
    )
    return
  }
  if (url.pathname.startsWith("/api/") || url.pathname === "/web-config.json") return
  event.respondWith(
    caches.open(CACHE).then(cache => cache.match(request).then(hit => hit || fetch(request))),
  )
})
