/** How the CLI shows a token and a user on one line, and a user as JSON: never a secret. */
import { lockOut } from "../core/LockOut.ts"
import type { User } from "../core/Session.ts"
import type { TokenInfo } from "../core/TokenTypes.ts"

/** Revoked, removed (its member row gone), or else expired and/or rotated, or live. */
const tokenState = (t: TokenInfo, now: number) => {
  if (t.revokedAt) return `REVOKED ${t.revokedAt.toISOString()}`
  if (t.removed) return "REMOVED (the organization's member it was minted as is gone)"
  const rotated = t.replacedBy ? `rotated to ${t.replacedBy}` : undefined
  if (t.expiresAt !== null && t.expiresAt.getTime() <= now) return rotated === undefined ? "EXPIRED" : `EXPIRED, ${rotated}`
  return rotated ?? "live"
}

export const tokenLine = (t: TokenInfo) =>
  [
    t.id,
    JSON.stringify(t.name),
    t.hint,
    t.scopes.length ? t.scopes.join(",") : "-",
    `created ${t.createdAt.toISOString()}`,
    `expires ${t.expiresAt?.toISOString() ?? "never"}`,
    `last used ${t.lastUsedAt?.toISOString() ?? "never"}`,
    tokenState(t, Date.now()),
    ...(t.rateLimit === null ? [] : [`rate limit ${t.rateLimit}`])
  ].join("  ")

/** A time the user row holds, as the CLI prints it. */
const since = (at: unknown) => new Date(at as Date).toISOString()

/** The user's state by the one lock-out rule: active, deactivated (since; by the app, the directory or both), or banned (until). */
const userState = (u: User) => {
  switch (lockOut(u, Date.now())) {
    case "deactivated":
      return [
        ...(u.deactivatedAt == null ? [] : [`DEACTIVATED ${since(u.deactivatedAt)}`]),
        ...(u.deprovisionedAt == null ? [] : [`DEACTIVATED BY THE DIRECTORY (SCIM) ${since(u.deprovisionedAt)}`])
      ].join(", ")
    case "banned":
      return u.banExpires == null ? "BANNED" : `BANNED until ${since(u.banExpires)}`
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
  deprovisionedAt: u.deprovisionedAt ?? null,
  lockedOut: lockOut(u, Date.now()) ?? null
})
