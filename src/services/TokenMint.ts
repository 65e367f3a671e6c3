/**
 * Making tokens: `create` and `rotate`, the rules `TokenStore` applies to a new token in one
 * transaction with its audit event (its owner locked first, then its parent, its
 * organization's membership, its scopes, its lifetime and rate limit, the live-token limit),
 * and `insertNew`, which stores only its digest and hands the plaintext back once.
 */
import { Clock, Duration, Effect, Redacted } from "effect"
import * as ApiToken from "../core/ApiToken.ts"
import { ImpersonationRefused, InsufficientScope, InvalidToken, InvalidTokenInput, TokenNotFound, TokenSecretMismatch, UserNotFound } from "../core/Errors.ts"
import type { TokenRecord, TokenTable } from "../core/Tables.ts"
import { effectiveScopes, type TokenPolicy } from "../core/TokenPolicy.ts"
import {
  boundedByParent,
  checkCaller,
  checkExpiry,
  checkManage,
  checkName,
  checkNotImpersonating,
  checkOrganization,
  checkOwner,
  checkRateLimit,
  checkRotatable,
  checkScopes,
  confinedTo,
  credentialOf,
  organizationAsked
} from "../core/TokenRules.ts"
import { type CreateTokenInput, describe, info, type RotateTokenInput } from "../core/TokenTypes.ts"
import type { AuditLog } from "./AuditLog.ts"
import { endDescendantsBy, liveParent } from "./TokenLineage.ts"

/** Why `create` (and `rotate`) may refuse; `InvalidToken` when the presenting token ended meanwhile. */
export type CreateErrors = UserNotFound | InvalidTokenInput | InsufficientScope | ImpersonationRefused | InvalidToken | TokenSecretMismatch

/** The table and what the rules read. */
export interface MintDeps {
  readonly table: TokenTable
  readonly policy: TokenPolicy
  readonly secret: Redacted.Redacted<string> | undefined
  /** `TokenSecret.fingerprint` of `secret`: what the app's recorded digest scheme must be. */
  readonly fingerprint: string
  readonly audit: AuditLog["Service"]
}

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * Refuses when the app's own migrate recorded a digest scheme other than this process's:
 * its tokens would be refused by the app, its search for a leaked one would miss. None
 * recorded (a database this release has not migrated; memory): allowed, as before. One
 * statement before the transaction, read on each call and never cached: the app may
 * re-migrate with a new secret while this process runs.
 */
export const checkDigestScheme = ({ table, fingerprint }: MintDeps): Effect.Effect<void, TokenSecretMismatch> =>
  Effect.flatMap(table.digestScheme(), (recorded) =>
    recorded === undefined || recorded === fingerprint ? Effect.void : Effect.fail(new TokenSecretMismatch()))

export const create = (deps: MintDeps) =>
  Effect.fn("TokenStore.create")(function*(input: CreateTokenInput) {
    const { table, policy, audit } = deps
    const at = yield* now
    const { caller } = input
    const userId = caller === undefined ? input.userId : caller.user.id
    const name = yield* checkName(input.name)
    const asked = yield* checkExpiry(policy, at, input.expiresAt)
    if (caller !== undefined) {
      yield* checkManage(caller)
      yield* checkNotImpersonating(caller, "create")
      yield* checkCaller(policy, caller, input.scopes ?? [])
    }
    const parentId = caller?.session === null ? caller.tokenId ?? null : null
    yield* checkDigestScheme(deps)
    const created = yield* table.transaction(Effect.gen(function*() {
      const owner = yield* table.lockUser(userId)
      if (owner === undefined) return yield* new UserNotFound({ userId })
      yield* checkOwner(owner, at)
      const parent = yield* liveParent(table, parentId, at)
      const organization = yield* organizationOf(deps, userId, input.organizationId, parent)
      const scopes = yield* checkScopes(policy, owner, input.scopes ?? [], organization?.roles)
      yield* checkRoom(deps, userId, at, "")
      const rateLimit = yield* checkRateLimit(policy, input.rateLimit, parent)
      const made = yield* insertNew(deps, {
        userId,
        name,
        scopes,
        expiresAt: boundedByParent(asked, parent),
        createdAt: at,
        parentId,
        rateLimit,
        organizationId: organization?.id ?? null,
        memberId: organization?.memberId ?? null,
        // Minted by a token: of that token's lineage, so minting does not multiply its rate limit.
        lineageId: parent === undefined ? null : lineageOf(parent)
      })
      yield* audit.record({
        action: "token.created",
        actorId: input.actorId ?? userId,
        actorCredential: credentialOf(caller),
        userId,
        tokenId: made.record.id,
        detail: describe(made.record)
      })
      return made
    }))
    return { token: created.token, info: info(created.record) }
  })

export const rotate = (deps: MintDeps) =>
  Effect.fn("TokenStore.rotate")(function*(input: RotateTokenInput) {
    const { table, policy, audit } = deps
    const at = yield* now
    const grace = Duration.toMillis(Duration.fromInputUnsafe(input.gracePeriod ?? 0))
    if (!(grace >= 0)) return yield* new InvalidTokenInput({ field: "gracePeriod", problem: "must not be negative" })
    const { caller } = input
    const userId = caller === undefined ? input.userId : caller.user.id
    if (caller !== undefined) {
      yield* checkManage(caller)
      yield* checkNotImpersonating(caller, "rotate")
    }
    yield* checkDigestScheme(deps)
    const rotated = yield* table.transaction(Effect.gen(function*() {
      const owner = yield* table.lockUser(userId)
      const old = yield* table.find({ id: input.tokenId })
      const confined = confinedTo(caller)
      if (owner === undefined || old === undefined || old.userId !== userId || (confined !== undefined && old.organizationId !== confined)) {
        return yield* new TokenNotFound({ tokenId: input.tokenId })
      }
      yield* checkOwner(owner, at)
      yield* checkRotatable(old, at)
      // The successor takes the old token's place under its parent; rotated by a token, it is that token's child.
      const callerToken = caller?.session === null ? caller.tokenId : undefined
      if (callerToken !== undefined && (callerToken === old.id || (yield* table.descendants(old.id)).some((t) => t.id === callerToken))) {
        // The successor would have to outlive the token rotating it (a leaked token would rotate
        // itself away from its revocation), or die with the old one.
        return yield* new InvalidTokenInput({ field: "tokenId", problem: "is the presenting token or an ancestor of it" })
      }
      const parentId = callerToken ?? old.parentId
      const parent = yield* liveParent(table, parentId, at)
      // An organization's token is re-minted only by a member who may still mint for it.
      const organization = yield* organizationOf(deps, old.userId, old.organizationId ?? undefined, parent)
      if (old.memberId !== null && organization?.memberId !== old.memberId) {
        // Its member was removed (and added again, a new member): refused on every request, so not renewed either.
        return yield* new InvalidTokenInput({ field: "tokenId", problem: "acts for a membership that has ended: mint a new token" })
      }
      // The successor's scopes: what the owner may still grant, and the role there now (as `create` checks them).
      const scopes = effectiveScopes(policy, owner, old.scopes, organization?.roles)
      if (caller !== undefined) yield* checkCaller(policy, caller, scopes)
      const graceEnd = new Date(at.getTime() + grace)
      const oldEnd = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd
      // Kept live through a grace, the old token and its successor are two: the limit holds for them as for a new token.
      if (oldEnd > at) yield* checkRoom(deps, userId, at, "; rotate with no grace period, or revoke one first")
      const lifetime = old.expiresAt === null ? undefined : old.expiresAt.getTime() - old.createdAt.getTime()
      const expiresAt = yield* checkExpiry(
        policy,
        at,
        input.expiresAt ?? (lifetime === undefined ? undefined : new Date(at.getTime() + lifetime))
      )
      const made = yield* insertNew(deps, {
        userId: old.userId,
        name: old.name,
        scopes,
        expiresAt: boundedByParent(expiresAt, parent),
        createdAt: at,
        parentId,
        // The old token's own limit, within what the policy allows now.
        rateLimit: yield* checkRateLimit(policy, keptLimit(policy, old.rateLimit), parent),
        organizationId: organization?.id ?? null,
        memberId: organization?.memberId ?? null, // the membership that allows it now
        // A successor counts where its predecessor did; rotated by a token, with that token's
        // lineage, as what it mints does: rotating never multiplies the rotating token's limit.
        lineageId: callerToken !== undefined && parent !== undefined ? lineageOf(parent) : lineageOf(old)
      })
      yield* table.update(old.id, { expiresAt: oldEnd, replacedBy: made.record.id })
      yield* endDescendantsBy(table, old.id, oldEnd)
      yield* audit.record({
        action: "token.rotated",
        actorId: input.actorId ?? userId,
        actorCredential: credentialOf(caller),
        userId: old.userId,
        tokenId: old.id,
        detail: `${describe(old)} → ${made.record.id}, old secret until ${oldEnd.toISOString()}`
      })
      return made
    }))
    return { token: rotated.token, info: info(rotated.record) }
  })

/**
 * The live-token limit: a user already holding `maxLiveTokensPerUser` unrevoked, unexpired
 * tokens is given no other (`create`, and `rotate` keeping the old token through a grace).
 * Read under the owner's lock, so concurrent mints never pass it together.
 */
const checkRoom = ({ table, policy }: MintDeps, userId: string, at: Date, advice: string) =>
  Effect.flatMap(table.liveCount(userId, at), (live) =>
    live < policy.maxLiveTokensPerUser
      ? Effect.void
      : Effect.fail(new InvalidTokenInput({ field: "userId", problem: `already holds ${policy.maxLiveTokensPerUser} live tokens, the most allowed${advice}` })))

/** The organization a new token acts for, checked against the owner's membership now (`checkOrganization`). */
const organizationOf = (
  { table, policy }: MintDeps,
  userId: string,
  asked: string | undefined,
  parent: TokenRecord | undefined
) =>
  Effect.gen(function*() {
    const id = organizationAsked(asked, parent)
    const membership = id === null ? undefined : yield* table.membership(id, userId)
    const organization = yield* checkOrganization(policy, asked, parent, membership?.role)
    return organization === null ? null : { ...organization, memberId: membership?.id ?? null }
  })

/** The lineage a token counts on (its own id, first of one). */
const lineageOf = (token: TokenRecord): string => token.lineageId ?? token.id

/** A successor's limit: its predecessor's, lowered to the policy's maximum now; none when limits are off. */
const keptLimit = (policy: TokenPolicy, limit: number | null): number | undefined =>
  limit === null || policy.rateLimit === undefined ? undefined : Math.min(limit, policy.rateLimit.maxRequests)

/** Stores a new token with its digest and hint; the plaintext leaves only in the result. */
const insertNew = Effect.fn(function*(
  { table, secret, policy }: MintDeps,
  fields: Pick<TokenRecord, "userId" | "name" | "scopes" | "expiresAt" | "createdAt" | "parentId" | "rateLimit" | "organizationId" | "memberId" | "lineageId">
) {
  const token = policy.format.generate()
  const record: TokenRecord = {
    id: crypto.randomUUID(),
    ...fields,
    digest: ApiToken.digest(token, secret),
    hint: ApiToken.hint(token),
    lastUsedAt: null,
    revokedAt: null,
    replacedBy: null
  }
  yield* table.insert(record)
  return { token: token as Redacted.Redacted<string>, record }
})
