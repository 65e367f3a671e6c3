/**
 * API tokens at rest: create, list, rotate, revoke (by id or by leaked value), and `verify`
 * for the request path. The rules live here; each backend's table operations in
 * `sql/TokenTable.ts` and `memory/TokenTable.ts`, the pure checks in `core/TokenRules.ts`.
 *
 * `verify` is one SQL statement (the token joined with its owner) and no write: `lastUsedAt`
 * is left to `LastUsed`. It answers for the token alone: a deactivated owner is returned as
 * is, for `SessionResolver` to refuse. Only the digest is stored; `create` and `rotate` hand
 * the plaintext back once, as `Redacted`. Every change is one transaction with its audit event.
 *
 * `create`, `rotate` and `revokeLeaked`, which digest a new or presented token, first refuse
 * (`TokenSecretMismatch`, see `checkDigestScheme`) where the app's `migrate()` recorded another
 * secret's digest scheme. `revoke`, `revokeById` and `list` read no digest and are allowed;
 * `verify`, the request path, gains no statement (a wrong secret there finds no token).
 */
import { Clock, Context, Duration, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentUserModel } from "../core/UserModel.ts"
import * as ApiToken from "../core/ApiToken.ts"
import { lockOut } from "../core/LockOut.ts"
import * as Metrics from "../core/Metrics.ts"
import { ImpersonationRefused, InsufficientScope, InvalidToken, InvalidTokenInput, TokenNotFound, TokenSecretMismatch, UserNotFound } from "../core/Errors.ts"
import type { TokenRecord, TokenTable } from "../core/Tables.ts"
import {
  type CreatedToken,
  type CreateTokenInput,
  describe,
  info,
  type RotateTokenInput,
  type TokenInfo,
  type VerifiedToken
} from "../core/TokenTypes.ts"
import { CurrentTokenPolicy, effectiveScopes, roleList, type TokenPolicy } from "../core/TokenPolicy.ts"
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
  credentialOf,
  organizationAsked
} from "../core/TokenRules.ts"
import { fingerprint, TokenSecret } from "../core/TokenSecret.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import * as MemoryTokenTable from "../memory/TokenTable.ts"
import * as SqlTokenTable from "../sql/TokenTable.ts"
import { AuditLog } from "./AuditLog.ts"
import { LastUsed } from "./LastUsed.ts"
import { endDescendantsBy, liveParent, lockedFind, revokeRecord } from "./TokenLineage.ts"

export type { CreatedToken, CreateTokenInput, RotateTokenInput, TokenFields, TokenInfo, VerifiedToken } from "../core/TokenTypes.ts"

export class TokenStore extends Context.Service<TokenStore, {
  /**
   * A token caller needs `MANAGE_TOKENS`, and the new token records it as its parent: it never
   * outlives it. A session under impersonation is refused.
   */
  create(input: CreateTokenInput): Effect.Effect<CreatedToken, CreateErrors>
  list(userId: string): Effect.Effect<ReadonlyArray<TokenInfo>>
  /** Every token acting for an organization, whoever minted it: for its operators (the CLI). */
  listByOrganization(organizationId: string): Effect.Effect<ReadonlyArray<TokenInfo>>
  /**
   * Soft delete scoped to the owner: another user's token is `TokenNotFound`. Every route of
   * revocation revokes the token's descendants too, in the same transaction.
   * `actorCredential` names the credential that asked, for the audit trail.
   */
  revoke(userId: string, tokenId: string, actorId?: string, actorCredential?: string | null): Effect.Effect<TokenInfo, TokenNotFound>
  /** Revoke by id alone, for administrators. */
  revokeById(tokenId: string, actorId?: string): Effect.Effect<TokenInfo, TokenNotFound>
  /**
   * Revoke by plaintext, e.g. one a secret scanner reported, without knowing owner or id.
   * `note` (where it was found) goes to the audit event, with the token itself replaced by its hint.
   */
  revokeLeaked(token: ApiToken.ApiToken, actorId?: string, note?: string): Effect.Effect<TokenInfo, TokenNotFound | TokenSecretMismatch>
  /**
   * A token caller may rotate only a token whose scopes it holds itself (`InsufficientScope`).
   * The old token's descendants end when its grace does.
   */
  rotate(input: RotateTokenInput): Effect.Effect<CreatedToken, TokenNotFound | CreateErrors>
  verify(token: ApiToken.ApiToken): Effect.Effect<VerifiedToken, InvalidToken>
}>()("fusion-auth/TokenStore") {
  /** On Postgres through `SqlClient`; expects the migrated `apiToken` table. */
  static readonly layer: Layer.Layer<TokenStore, never, SqlClient.SqlClient | Requirements> = Layer.effect(
    TokenStore,
    Effect.flatMap(Effect.all([SqlClient.SqlClient, CurrentUserModel, Metrics.statementSent("token")]), (needs) => make(SqlTokenTable.make(...needs)))
  )

  /** In memory, over `MemoryDatabase`: same rules, for tests. */
  static readonly layerMemory: Layer.Layer<TokenStore, never, MemoryDatabase | Requirements> = Layer.effect(
    TokenStore,
    Effect.flatMap(MemoryDatabase, (db) => make(MemoryTokenTable.make(db)))
  )
}

/** Why `create` (and `rotate`) may refuse; `InvalidToken` when the presenting token ended meanwhile. */
type CreateErrors = UserNotFound | InvalidTokenInput | InsufficientScope | ImpersonationRefused | InvalidToken | TokenSecretMismatch

/** What the rules read besides their table. */
type Requirements = AuditLog | LastUsed | CurrentTokenPolicy | TokenSecret

/** The table and what the rules read, handed to each operation below. */
interface Deps {
  readonly table: TokenTable
  readonly policy: TokenPolicy
  readonly secret: Redacted.Redacted<string> | undefined
  /** `TokenSecret.fingerprint` of `secret`: what the app's recorded digest scheme must be. */
  readonly fingerprint: string
  readonly audit: AuditLog["Service"]
  readonly lastUsed: LastUsed["Service"]
}

const make = Effect.fn(function*(table: TokenTable) {
  const secret = yield* TokenSecret
  const deps: Deps = {
    table,
    policy: yield* CurrentTokenPolicy,
    secret,
    fingerprint: fingerprint(secret),
    audit: yield* AuditLog,
    lastUsed: yield* LastUsed
  }
  const revoke = revokeRecord(deps)
  return TokenStore.of({
    create: create(deps),
    list: (userId) => table.list(userId).pipe(Effect.map((rows) => rows.map(info)), Effect.withSpan("TokenStore.list")),
    listByOrganization: (organizationId) =>
      table.listByOrganization(organizationId).pipe(Effect.map((rows) => rows.map(info)), Effect.withSpan("TokenStore.listByOrganization")),
    revoke: Effect.fn("TokenStore.revoke")(function*(userId, tokenId, actorId, actorCredential) {
      return yield* table.transaction(Effect.flatMap(lockedFind(table, { id: tokenId }), (record) =>
        revoke(record?.userId === userId ? record : undefined, new TokenNotFound({ tokenId }), "token.revoked", {
          id: actorId ?? userId,
          credential: actorCredential ?? null
        })))
    }),
    revokeById: Effect.fn("TokenStore.revokeById")(function*(tokenId, actorId) {
      return yield* table.transaction(Effect.flatMap(lockedFind(table, { id: tokenId }), (record) =>
        revoke(record, new TokenNotFound({ tokenId }), "token.revoked", { id: actorId ?? null, credential: null })))
    }),
    revokeLeaked: Effect.fn("TokenStore.revokeLeaked")(function*(token, actorId, note) {
      const hint = ApiToken.hint(token)
      const where = note?.replaceAll(Redacted.value(token), hint)
      yield* checkDigestScheme(deps)
      return yield* table.transaction(Effect.flatMap(lockedFind(table, { digest: ApiToken.digest(token, secret) }), (record) =>
        revoke(record, new TokenNotFound({ tokenId: hint }), "token.revoked_leaked", { id: actorId ?? null, credential: null }, where)))
    }),
    rotate: rotate(deps),
    verify: verify(deps)
  })
})

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/**
 * Refuses when the app's own migrate recorded a digest scheme other than this process's:
 * its tokens would be refused by the app, its search for a leaked one would miss. None
 * recorded (a database this release has not migrated; memory): allowed, as before. One
 * statement before the transaction, read on each call and never cached: the app may
 * re-migrate with a new secret while this process runs.
 */
const checkDigestScheme = ({ table, fingerprint }: Deps): Effect.Effect<void, TokenSecretMismatch> =>
  Effect.flatMap(table.digestScheme(), (recorded) =>
    recorded === undefined || recorded === fingerprint ? Effect.void : Effect.fail(new TokenSecretMismatch()))

const create = (deps: Deps) =>
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
      if ((yield* table.liveCount(userId, at)) >= policy.maxLiveTokensPerUser) {
        return yield* new InvalidTokenInput({
          field: "userId",
          problem: `already holds ${policy.maxLiveTokensPerUser} live tokens, the most allowed`
        })
      }
      const rateLimit = yield* checkRateLimit(policy, input.rateLimit, parent)
      const made = yield* insertNew(deps, {
        userId,
        name,
        scopes,
        expiresAt: boundedByParent(asked, parent),
        createdAt: at,
        parentId,
        rateLimit,
        organizationId: organization?.id ?? null
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

const rotate = (deps: Deps) =>
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
      if (owner === undefined || old === undefined || old.userId !== userId) {
        return yield* new TokenNotFound({ tokenId: input.tokenId })
      }
      yield* checkOwner(owner, at)
      yield* checkRotatable(old, at)
      const scopes = effectiveScopes(policy, owner, old.scopes) // the successor's: what the owner may still grant
      if (caller !== undefined) yield* checkCaller(policy, caller, scopes)
      // The successor takes the old token's place under its parent; minted by another token, it is bounded by that one.
      const callerToken = caller?.session === null ? caller.tokenId : undefined
      if (callerToken !== undefined && (yield* table.descendants(old.id)).some((t) => t.id === callerToken)) {
        // The successor would have to outlive the token rotating it, or die with the old one.
        return yield* new InvalidTokenInput({ field: "tokenId", problem: "is an ancestor of the presenting token" })
      }
      const parentId = callerToken !== undefined && callerToken !== old.id ? callerToken : old.parentId
      const parent = yield* liveParent(table, parentId, at)
      // An organization's token is re-minted only by a member who may still mint for it.
      const organization = yield* organizationOf(deps, old.userId, old.organizationId ?? undefined, parent)
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
        organizationId: organization?.id ?? null
      })
      const graceEnd = new Date(at.getTime() + grace)
      const oldEnd = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd
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

/** The organization a new token acts for, checked against the owner's membership now (`checkOrganization`). */
const organizationOf = (
  { table, policy }: Deps,
  userId: string,
  asked: string | undefined,
  parent: TokenRecord | undefined
) =>
  Effect.gen(function*() {
    const id = organizationAsked(asked, parent)
    const role = id === null ? undefined : yield* table.membership(id, userId)
    return yield* checkOrganization(policy, asked, parent, role)
  })

/** A successor's limit: its predecessor's, lowered to the policy's maximum now; none when limits are off. */
const keptLimit = (policy: TokenPolicy, limit: number | null): number | undefined =>
  limit === null || policy.rateLimit === undefined ? undefined : Math.min(limit, policy.rateLimit.maxRequests)

/** The request path: one lookup, no write (a use is only noted, see `LastUsed`). Untraced, as `SessionResolver.resolve`. */
const verify = ({ table, policy, secret, lastUsed }: Deps) =>
  Effect.fnUntraced(function*(token: ApiToken.ApiToken) {
    const found = yield* table.lookup(ApiToken.digest(token, secret))
    if (found === undefined) return yield* new InvalidToken({ reason: "unknown" })
    const { tokenId, user } = found
    if (found.revokedAt !== null) return yield* new InvalidToken({ reason: "revoked", tokenId })
    const at = yield* Clock.currentTimeMillis
    if (found.expiresAt !== null && at >= found.expiresAt.getTime()) {
      return yield* new InvalidToken({ reason: "expired", tokenId })
    }
    // An organization's token acts for its owner's membership: gone (removed, or the organization deleted), it ends.
    const { organizationId, memberRole } = found
    if (organizationId !== null && memberRole === null) return yield* new InvalidToken({ reason: "removed", tokenId })
    // A locked-out owner's request is refused by the resolver, so it is not noted as a use.
    const lockedOut = lockOut(found.lock, at)
    if (lockedOut === undefined) yield* lastUsed.touch(tokenId, found.lastUsedAt)
    return {
      tokenId,
      user,
      scopes: effectiveScopes(policy, user, found.scopes, memberRole === null ? undefined : roleList(memberRole)),
      rateLimit: found.rateLimit,
      organization: organizationId === null || memberRole === null ? undefined : { id: organizationId, role: memberRole },
      lockedOut
    } satisfies VerifiedToken
  })

/** Stores a new token with its digest and hint; the plaintext leaves only in the result. */
const insertNew = Effect.fn(function*(
  { table, secret, policy }: Deps,
  fields: Pick<TokenRecord, "userId" | "name" | "scopes" | "expiresAt" | "createdAt" | "parentId" | "rateLimit" | "organizationId">
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
