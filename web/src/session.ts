// Who this browser is: its device id (random, kept), the member it acts for, and the device
// token when the server requires one (from the sign-in screen; kept in localStorage).
import { type Role, role } from "./roles"

const get = (k: string) => localStorage.getItem(`fiche.${k}`) ?? ""
const set = (k: string, v: string) => localStorage.setItem(`fiche.${k}`, v)

export function device(): string {
  let d = get("device")
  if (!d) set("device", (d = `web-${crypto.randomUUID().slice(0, 8)}`))
  return d
}

export const token = () => get("token")
export const member = () => get("member") || "web"

export function signIn(t: string, m: string) {
  set("token", t)
  if (m) set("member", m)
}

/** Where the web client keeps the last client listing it got (peer.ts), in Cache Storage. */
export const LISTING_CACHE = "fiche-listing"

export function signOut() {
  localStorage.removeItem("fiche.token")
  // The kept client listing goes with the token.
  if (typeof caches !== "undefined") void caches.delete(LISTING_CACHE)
}

const withToken = (url: string) => (token() ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token())}` : url)

/** The sync URL of the server this page came from. */
export const wsUrl = () => withToken(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`)

/** Where a blob (photo, file) is served. */
export const blobUrl = (hash: string) => withToken(`/blobs/${hash}`)

/** Whether the server requires a token: asked when online, remembered for offline starts. */
export async function authRequired(): Promise<boolean> {
  try {
    const r = await fetch("/web-config.json", { cache: "no-store" })
    const auth = (await r.json()).auth === true
    set("auth", String(auth))
    return auth
  } catch {
    return get("auth") === "true"
  }
}

/** Checks a token against the server (a blob request that needs one); true when offline. */
export async function tokenWorks(t: string): Promise<boolean> {
  try {
    const r = await fetch(`/blobs/${"0".repeat(64)}?token=${encodeURIComponent(t)}`, { method: "HEAD" })
    return r.status !== 401 && r.status !== 403
  } catch {
    return true
  }
}

/** Whether the server refuses this browser's stored token (revoked, or unknown); false
 * without a token, or when the server cannot be asked. */
export async function tokenRefused(): Promise<boolean> {
  return token() !== "" && !(await tokenWorks(token()))
}

/** Who the server says this browser acts for (`GET /api/me`, with the token). */
export type Me = { member: string; name: string; org: string; role: Role; device: string }

/** Asks the server who this browser acts for and keeps the answer (the member, the role), so
 * that an offline start knows the role too; undefined when the server cannot be asked or does
 * not know the token. */
export async function me(): Promise<Me | undefined> {
  try {
    const r = await fetch(withToken("/api/me"), { cache: "no-store" })
    if (!r.ok) return undefined
    const m = (await r.json()) as Record<string, unknown>
    const known = role(m.role)
    if (!known) return undefined
    set("role", known)
    if (typeof m.member === "string" && m.member) set("member", m.member)
    return { member: String(m.member), name: String(m.name), org: String(m.org), role: known, device: String(m.device) }
  } catch {
    return undefined
  }
}

/** The member's role as last heard from the server; staff before it was ever asked. */
export const keptRole = (): Role => role(get("role")) ?? "staff"

/** Exchanges an enrolment code for a device token (`POST /api/enrol`). */
export async function enrol(code: string, name: string): Promise<{ token: string; member: string }> {
  const r = await fetch("/api/enrol", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: code.trim(), name }),
  })
  if (!r.ok) throw new Error((await r.text()) || `enrolment refused (${r.status})`)
  return r.json()
}
