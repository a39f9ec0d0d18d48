// Who may do what, as the page needs it: the same table as fiche-core's `roles` module (the
// server enforces it; the page only hides what the member's role may not do).
//   owner, admin: create and edit clients and contacts, change the settings
//   manager, staff: create and edit clients and contacts
//   technician: create clients and contacts, edit those assigned to them (the only ones the
//   server lets them see)
//   read-only: read
export type Role = "owner" | "admin" | "manager" | "staff" | "technician" | "read-only"

export const ROLES: readonly Role[] = ["owner", "admin", "manager", "staff", "technician", "read-only"]

/** The kinds of document a change can touch. */
export type Kind = "client" | "contact" | "settings"

/** A role named by the server (`/api/me`), or undefined for anything else. */
export const role = (s: unknown): Role | undefined => (ROLES.includes(s as Role) ? (s as Role) : undefined)

/** May create, edit and archive client records (a technician: those assigned to them). */
export const mayEdit = (r: Role) => r !== "read-only"

/** May change the organisation's settings and its members. */
export const mayManage = (r: Role) => r === "owner" || r === "admin"

/** May file new clients and contacts (a technician's walk-ins are assigned to them). */
export const mayCreate = mayEdit

/** May change documents of `kind`. */
export const mayChange = (r: Role, kind: Kind) => (kind === "settings" ? mayManage(r) : mayEdit(r))

/** Why a change to a document of `kind` is refused to role `r`, said to the member (fiche-core's
 * `Role::refusal`); undefined when it is allowed. */
export function refusal(r: Role, kind: Kind): string | undefined {
  if (mayChange(r, kind)) return undefined
  if (!mayEdit(r)) return `you are ${r}: changes are refused`
  return `you are ${r}: only an owner or an admin changes the settings`
}
