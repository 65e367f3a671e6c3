/**
 * The checks `TokenStore` applies before it changes a token: name, expiry, scopes, who may
 * mint, whether a token may be rotated. Pure: each answers from its arguments alone.
 *
 * A refusal names the field and never echoes a value that could be a pasted secret.
 */
import { Duration, Effect } from "effect"
import { lockOut } from "./LockOut.ts"
import { ImpersonationRefused, InsufficientScope, InvalidTokenInput } from "./Errors.ts"
import type { Session, User } from "./Session.ts"
import type { TokenRecord } from "./Tables.ts"
import { effectiveScopes, MANAGE_TOKENS, roleList, SCOPE_PATTERN, type TokenPolicy } from "./TokenPolicy.ts"

const NAME_MAX = 100
/** Printable characters only: no control characters, no line or paragraph separators. */
const NAME_PATTERN = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u

/** The trimmed name, 1 to 100 printable characters. */
export const checkName = (raw: string): Effect.Effect<string, InvalidTokenInput> => {
  const name = raw.trim()
  if (name.length === 0 || name.length > NAME_MAX) {
    return Effect.fail(new InvalidTokenInput({ field: "name", problem: `must be 1 to ${NAME_MAX} characters` }))
  }
  if (!NAME_PATTERN.test(name)) {
    return Effect.fail(new InvalidTokenInput({ field: "name", problem: "must not contain control characters" }))
  }
  return Effect.succeed(name)
}

/** The expiry to store: the one asked for, in the future and within the policy; absent, the policy's maximum. */
export const checkExpiry = (policy: TokenPolicy, at: Date, asked: Date | undefined): Effect.Effect<Date | null, InvalidTokenInput> => {
  const max = policy.maxLifetime === undefined ? undefined : at.getTime() + Duration.toMillis(policy.maxLifetime)
  if (asked === undefined) return Effect.succeed(max === undefined ? null : new Date(max))
  if (!(asked.getTime() > at.getTime())) {
    return Effect.fail(new InvalidTokenInput({ field: "expiresAt", problem: "must be a valid time in the future" }))
  }
  if (max !== undefined && asked.getTime() > max) {
    return Effect.fail(new InvalidTokenInput({
      field: "expiresAt",
      problem: `must be within the maximum lifetime of ${Duration.format(policy.maxLifetime!)}`
    }))
  }
  return Effect.succeed(asked)
}

/** A signed-in caller mints only scopes it has now (a known scope it lacks: `InsufficientScope`). */
export const checkCaller = (policy: TokenPolicy, caller: Session, asked: ReadonlyArray<string>): Effect.Effect<void, InsufficientScope> => {
  const beyond = asked.find((scope) => policy.scopes.includes(scope) && !caller.scopes.includes(scope))
  return beyond === undefined
    ? Effect.void
    : Effect.fail(new InsufficientScope({ scope: beyond, credential: caller.session === null ? "token" : "cookie" }))
}

/** A caller may manage its user's tokens: any cookie session, and a token only with `MANAGE_TOKENS`. */
export const checkManage = (caller: Session): Effect.Effect<void, InsufficientScope> =>
  caller.session !== null || caller.scopes.includes(MANAGE_TOKENS)
    ? Effect.void
    : Effect.fail(new InsufficientScope({ scope: MANAGE_TOKENS, credential: "token" }))

/** A session under impersonation (the admin plugin's `impersonatedBy`) mints and rotates nothing. */
export const checkNotImpersonating = (caller: Session, action: "create" | "rotate"): Effect.Effect<void, ImpersonationRefused> =>
  caller.session?.impersonatedBy == null ? Effect.void : Effect.fail(new ImpersonationRefused({ action }))

/** The credential that acts, as the audit trail names it: `session:<id>`, `token:<id>`, or `null` when unknown. */
export const credentialOf = (caller: Session | undefined): string | null =>
  caller === undefined
    ? null
    : caller.session !== null
    ? `session:${caller.session.id}`
    : caller.tokenId === undefined
    ? null
    : `token:${caller.tokenId}`

/** Nothing is minted for a locked-out user (deactivated, or banned): their tokens could not be used. */
export const checkOwner = (owner: User, at: Date): Effect.Effect<void, InvalidTokenInput> => {
  const reason = lockOut(owner, at.getTime())
  return reason === undefined ? Effect.void : Effect.fail(new InvalidTokenInput({ field: "userId", problem: `the user is ${reason}` }))
}

/** A child's expiry: the one asked for, but never past its parent's. */
export const boundedByParent = (expiresAt: Date | null, parent: Pick<TokenRecord, "expiresAt"> | undefined): Date | null =>
  parent?.expiresAt == null || (expiresAt !== null && expiresAt <= parent.expiresAt) ? expiresAt : parent.expiresAt

/**
 * The organization a new token acts for, and its owner's roles there: the one asked for, or
 * else the minting token's. A token acting for an organization mints only for that one; the
 * owner must be a member (`role`, read from the organization plugin's `member` table) whose
 * roles may mint (`TokenPolicy.organizations.mint`). `null`: the user's own token.
 */
export const checkOrganization = (
  policy: TokenPolicy,
  asked: string | undefined,
  parent: Pick<TokenRecord, "organizationId"> | undefined,
  role: string | undefined
): Effect.Effect<{ readonly id: string; readonly roles: ReadonlyArray<string> } | null, InvalidTokenInput> => {
  const bound = parent?.organizationId ?? null
  const id = organizationAsked(asked, parent)
  if (bound !== null && id !== bound) {
    return Effect.fail(new InvalidTokenInput({ field: "organizationId", problem: "a token acting for an organization mints only for that organization" }))
  }
  if (id === null) return Effect.succeed(null)
  if (role === undefined) return Effect.fail(new InvalidTokenInput({ field: "organizationId", problem: "the user is not a member of this organization" }))
  const roles = roleList(role)
  return policy.organizations.mint(roles)
    ? Effect.succeed({ id, roles })
    : Effect.fail(new InvalidTokenInput({ field: "organizationId", problem: "the user's role in this organization may not mint tokens" }))
}

/**
 * The organization a caller's token management is confined to: an organization's token lists,
 * revokes and rotates only that organization's tokens of its user (and mints only for it);
 * `undefined` for a cookie and a user's own token, which manage all of the user's tokens.
 */
export const confinedTo = (caller: Session | undefined): string | undefined =>
  caller?.session === null && typeof caller.activeOrganizationId === "string" ? caller.activeOrganizationId : undefined

/** The organization that `checkOrganization` would check: the one asked for, or the minting token's. */
export const organizationAsked = (asked: string | undefined, parent: Pick<TokenRecord, "organizationId"> | undefined): string | null =>
  asked ?? parent?.organizationId ?? null

/**
 * A token's own requests per window to store: the one asked for, a whole number within the
 * policy's `maxRequests`; minted by a token, never above that token's own limit (a token
 * cannot escape its limit by minting another). `null`: the policy's default.
 */
export const checkRateLimit = (
  policy: TokenPolicy,
  asked: number | undefined,
  parent: Pick<TokenRecord, "rateLimit"> | undefined
): Effect.Effect<number | null, InvalidTokenInput> => {
  const limits = policy.rateLimit
  if (limits === undefined) {
    return asked === undefined
      ? Effect.succeed(null)
      : Effect.fail(new InvalidTokenInput({ field: "rateLimit", problem: "rate limits are off in this app's token policy" }))
  }
  if (asked !== undefined && !(Number.isSafeInteger(asked) && asked > 0 && asked <= limits.maxRequests)) {
    return Effect.fail(new InvalidTokenInput({ field: "rateLimit", problem: `must be a whole number from 1 to ${limits.maxRequests}` }))
  }
  const ceiling = parent === undefined ? undefined : parent.rateLimit ?? limits.requests
  if (ceiling !== undefined && (asked ?? limits.requests) > ceiling) return Effect.succeed(ceiling)
  return Effect.succeed(asked ?? null)
}

/** The distinct scopes asked for, each known to the policy and grantable by the owner now (and, with `roles`, by their role in the organization). */
export const checkScopes = (
  policy: TokenPolicy,
  owner: User,
  asked: ReadonlyArray<string>,
  roles?: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<string>, InvalidTokenInput> => {
  const scopes = [...new Set(asked)]
  const unknown = scopes.filter((scope) => !policy.scopes.includes(scope))
  if (unknown.length > 0) {
    // Only a well-formed scope name is echoed: a pasted secret must never reach a message or span.
    const named = unknown.slice(0, 3).map((s) => (SCOPE_PATTERN.test(s) ? JSON.stringify(s) : "(not a scope name)")).join(", ")
    const more = unknown.length > 3 ? ` and ${unknown.length - 3} more` : ""
    return Effect.fail(new InvalidTokenInput({ field: "scopes", problem: `unknown scope ${named}${more}` }))
  }
  const grantable = effectiveScopes(policy, owner)
  const beyond = scopes.filter((scope) => !grantable.includes(scope))
  if (beyond.length > 0) {
    return Effect.fail(new InvalidTokenInput({ field: "scopes", problem: `the owner may not grant ${beyond.join(", ")}` }))
  }
  if (roles !== undefined) {
    const byRole = effectiveScopes(policy, owner, undefined, roles)
    const beyondRole = scopes.filter((scope) => !byRole.includes(scope))
    if (beyondRole.length > 0) {
      return Effect.fail(new InvalidTokenInput({ field: "scopes", problem: `the owner's role in the organization may not grant ${beyondRole.join(", ")}` }))
    }
  }
  return Effect.succeed(scopes)
}

/** Only a live token is rotated: revoked, already rotated (even within its grace) or expired at `at` is refused. */
export const checkRotatable = (
  token: Pick<TokenRecord, "revokedAt" | "replacedBy" | "expiresAt">,
  at: Date
): Effect.Effect<void, InvalidTokenInput> => {
  const state = token.revokedAt !== null
    ? "revoked"
    : token.replacedBy !== null
    ? "already rotated"
    : token.expiresAt !== null && token.expiresAt <= at
    ? "expired"
    : undefined
  return state === undefined ? Effect.void : Effect.fail(new InvalidTokenInput({ field: "tokenId", problem: `token is ${state}` }))
}
