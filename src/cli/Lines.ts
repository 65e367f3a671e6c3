/** How the CLI shows a token and a user on one line, and a user as JSON: never a secret. */
import { lockOut } from "../core/LockOut.ts"
import type { User } from "../core/Session.ts"
import type { TokenInfo } from "../core/TokenTypes.ts"

export const tokenLine = (t: TokenInfo) =>
  [
    t.id,
    JSON.stringify(t.name),
    t.hint,
    t.scopes.length ? t.scopes.join(",") : "-",
    `created ${t.createdAt.toISOString()}`,
    `expires ${t.expiresAt?.toISOString() ?? "never"}`,
    `last used ${t.lastUsedAt?.toISOString() ?? "never"}`,
    t.revokedAt ? `REVOKED ${t.revokedAt.toISOString()}` : t.replacedBy ? `rotated to ${t.replacedBy}` : "live",
    ...(t.rateLimit === null ? [] : [`rate limit ${t.rateLimit}`])
  ].join("  ")

/** The user's state by the one lock-out rule: active, deactivated (since), or banned (until). */
const userState = (u: User) => {
  switch (lockOut(u, Date.now())) {
    case "deactivated":
      return `DEACTIVATED ${new Date(u.deactivatedAt!).toISOString()}`
    case "banned":
      return u.banExpires == null ? "BANNED" : `BANNED until ${new Date(u.banExpires as Date).toISOString()}`
    default:
      return "active"
  }
}

export const userLine = (u: User) => `${u.id}  ${u.email}  ${userState(u)}`

export const userJson = (u: User) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  deactivatedAt: u.deactivatedAt ?? null,
  lockedOut: lockOut(u, Date.now()) ?? null
})
