/**
 * API tokens at rest: create, list, rotate, revoke (by id or by leaked value), and `verify`
 * for the request path.
 *
 * `verify` is one SQL statement (the token joined with its owner) and no write: `lastUsedAt`
 * is left to `LastUsed`. Only the digest is stored; `create` and `rotate` hand the plaintext
 * back once, as `Redacted`. Every change is one transaction with its audit event.
 */
import { Clock, Context, Duration, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as ApiToken from "../core/ApiToken.ts"
import { AuditLog } from "./AuditLog.ts"
import { Deactivated, InsufficientScope, InvalidToken, InvalidTokenInput, TokenNotFound, UserNotFound } from "../core/Errors.ts"
import { LastUsed } from "./LastUsed.ts"
import { MemoryDatabase, type TokenRecord } from "../memory/MemoryDatabase.ts"
import type { Session, User } from "../core/Session.ts"
import { CurrentTokenPolicy, effectiveScopes, SCOPE_PATTERN, type TokenPolicy } from "../core/TokenPolicy.ts"

/** What a token list shows: never the secret, never the digest. */
export interface TokenInfo {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly hint: string
  readonly scopes: ReadonlyArray<string>
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly lastUsedAt: Date | null
  readonly revokedAt: Date | null
  /** Set when the token was rotated: the id of its successor. */
  readonly replacedBy: string | null
}

/**
 * A token to make: for `caller`, the signed-in session that asks (the token is theirs, and may
 * carry only scopes the caller has now: a token caller cannot mint beyond its own token's
 * scopes), or for `userId`, on an operator's authority (the CLI), up to what the user may grant.
 */
export type CreateTokenInput = TokenFields & (
  | { readonly caller: Session; readonly userId?: undefined }
  | { readonly userId: string; readonly caller?: undefined }
)

export interface TokenFields {
  readonly name: string
  readonly scopes?: ReadonlyArray<string> | undefined
  /** Absent: the policy's maximum lifetime, or no expiry when the policy has none. */
  readonly expiresAt?: Date | undefined
  /** Who asks, for the audit trail; defaults to the owner. */
  readonly actorId?: string | undefined
}

export interface RotateTokenInput {
  readonly userId: string
  readonly tokenId: string
  /** How long the old secret keeps working; never past the old token's own expiry. */
  readonly gracePeriod?: Duration.Input | undefined
  /** The new token's expiry; absent: the old token's lifetime again, from now. */
  readonly expiresAt?: Date | undefined
  readonly actorId?: string | undefined
}

/** The plaintext exists here once; store it nowhere. */
export interface CreatedToken {
  readonly token: Redacted.Redacted<string>
  readonly info: TokenInfo
}

/** A token that passed `verify`, with its owner and the rights it carries now. */
export interface VerifiedToken {
  readonly tokenId: string
  readonly user: User
  readonly scopes: ReadonlyArray<string>
}

export class TokenStore extends Context.Service<TokenStore, {
  create(input: CreateTokenInput): Effect.Effect<CreatedToken, UserNotFound | InvalidTokenInput | InsufficientScope>
  list(userId: string): Effect.Effect<ReadonlyArray<TokenInfo>>
  /** Soft delete scoped to the owner: another user's token is `TokenNotFound`. */
  revoke(userId: string, tokenId: string, actorId?: string): Effect.Effect<TokenInfo, TokenNotFound>
  /** Revoke by id alone, for administrators. */
  revokeById(tokenId: string, actorId?: string): Effect.Effect<TokenInfo, TokenNotFound>
  /** Revoke by plaintext, e.g. one a secret scanner reported, without knowing owner or id. */
  revokeLeaked(token: ApiToken.ApiToken, actorId?: string): Effect.Effect<TokenInfo, TokenNotFound>
  rotate(input: RotateTokenInput): Effect.Effect<CreatedToken, TokenNotFound | InvalidTokenInput>
  verify(token: ApiToken.ApiToken): Effect.Effect<VerifiedToken, InvalidToken | Deactivated>
}>()("fusion-auth/TokenStore") {
  /** On Postgres through `SqlClient`; expects the migrated `apiToken` table. */
  static readonly layer: Layer.Layer<TokenStore, never, SqlClient.SqlClient | AuditLog | LastUsed> = Layer.effect(
    TokenStore,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* make({
        transaction: (effect) => sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", Effect.die)),
        lockUser: (userId) =>
          sql<User>`select * from "user" where "id" = ${userId} for update`.pipe(
            Effect.map((rows) => rows[0]),
            Effect.orDie
          ),
        liveCount: (userId, now) =>
          sql<{ n: number }>`select count(*)::int as "n" from "apiToken" where "userId" = ${userId}
            and "revokedAt" is null and ("expiresAt" is null or "expiresAt" > ${now})`.pipe(
            Effect.map((rows) => rows[0]!.n),
            Effect.orDie
          ),
        insert: (record) => sql`insert into "apiToken" ${sql.insert({ ...record, scopes: pgArray(record.scopes) })}`.pipe(Effect.orDie),
        list: (userId) =>
          sql<TokenRecord>`select * from "apiToken" where "userId" = ${userId} order by "createdAt", "id"`.pipe(Effect.orDie),
        find: (by) =>
          ("id" in by
            ? sql<TokenRecord>`select * from "apiToken" where "id" = ${by.id} for update`
            : sql<TokenRecord>`select * from "apiToken" where "digest" = ${by.digest} for update`
          ).pipe(Effect.map((rows) => rows[0]), Effect.orDie),
        update: (id, changes) =>
          sql`update "apiToken" set ${sql.update(changes)} where "id" = ${id}`.pipe(Effect.orDie, Effect.asVoid),
        lookup: (digest) =>
          sql<Record<string, unknown>>`select
              t."id" as "fusionTokenId", t."expiresAt" as "fusionExpiresAt", t."revokedAt" as "fusionRevokedAt",
              t."lastUsedAt" as "fusionLastUsedAt", t."scopes" as "fusionScopes", u.*
            from "apiToken" t join "user" u on u."id" = t."userId"
            where t."digest" = ${digest}`.pipe(
            Effect.map((rows) => {
              const row = rows[0]
              if (row === undefined) return undefined
              const { fusionTokenId, fusionExpiresAt, fusionRevokedAt, fusionLastUsedAt, fusionScopes, ...user } = row
              return {
                tokenId: fusionTokenId as string,
                expiresAt: fusionExpiresAt as Date | null,
                revokedAt: fusionRevokedAt as Date | null,
                lastUsedAt: fusionLastUsedAt as Date | null,
                scopes: fusionScopes as ReadonlyArray<string>,
                user: user as unknown as User
              }
            }),
            Effect.orDie
          )
      })
    })
  )

  /** In memory, over `MemoryDatabase`: same rules, for tests. */
  static readonly layerMemory: Layer.Layer<TokenStore, never, MemoryDatabase | AuditLog | LastUsed> = Layer.effect(
    TokenStore,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      return yield* make({
        transaction: (effect) => effect,
        lockUser: (userId) => Effect.sync(() => db.users.get(userId)),
        liveCount: (userId, now) =>
          Effect.sync(() =>
            [...db.tokens.values()].filter((t) =>
              t.userId === userId && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now)
            ).length
          ),
        insert: (record) => Effect.sync(() => void db.tokens.set(record.id, record)),
        list: (userId) => Effect.sync(() => [...db.tokens.values()].filter((t) => t.userId === userId)),
        find: (by) =>
          Effect.sync(() =>
            "id" in by ? db.tokens.get(by.id) : [...db.tokens.values()].find((t) => t.digest === by.digest)
          ),
        update: (id, changes) => Effect.sync(() => void db.tokens.set(id, { ...db.tokens.get(id)!, ...changes })),
        lookup: (digest) =>
          Effect.sync(() => {
            const record = [...db.tokens.values()].find((t) => t.digest === digest)
            const user = record && db.users.get(record.userId)
            return record && user && {
              tokenId: record.id,
              expiresAt: record.expiresAt,
              revokedAt: record.revokedAt,
              lastUsedAt: record.lastUsedAt,
              scopes: record.scopes,
              user
            }
          })
      })
    })
  )
}

/**
 * An optional server secret: when set, digests are HMAC-SHA256 under it. Changing it
 * invalidates every stored token, so set it once, before the first token is created.
 */
export const TokenSecret = Context.Reference<Redacted.Redacted<string> | undefined>("fusion-auth/TokenSecret", {
  defaultValue: () => undefined
})

/** The few table operations the rules need; each backend supplies them. */
interface Table {
  transaction<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E>
  /** The user, if they exist; on SQL, also serialises token changes of that user. */
  lockUser(userId: string): Effect.Effect<User | undefined>
  liveCount(userId: string, now: Date): Effect.Effect<number>
  insert(record: TokenRecord): Effect.Effect<void>
  list(userId: string): Effect.Effect<ReadonlyArray<TokenRecord>>
  find(by: { readonly id: string } | { readonly digest: string }): Effect.Effect<TokenRecord | undefined>
  update(id: string, changes: Partial<Pick<TokenRecord, "expiresAt" | "revokedAt" | "replacedBy">>): Effect.Effect<void>
  /** The one request-path statement: token joined with its owner, by digest. */
  lookup(digest: string): Effect.Effect<
    {
      readonly tokenId: string
      readonly expiresAt: Date | null
      readonly revokedAt: Date | null
      readonly lastUsedAt: Date | null
      readonly scopes: ReadonlyArray<string>
      readonly user: User
    } | undefined
  >
}

const NAME_MAX = 100
/** Printable characters only: no control characters, no line or paragraph separators. */
const NAME_PATTERN = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u

const make = Effect.fn(function*(table: Table) {
  const secret = yield* TokenSecret
  const policy = yield* CurrentTokenPolicy
  const audit = yield* AuditLog
  const lastUsed = yield* LastUsed
  const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

  const insertNew = Effect.fn(function*(fields: {
    readonly userId: string
    readonly name: string
    readonly scopes: ReadonlyArray<string>
    readonly expiresAt: Date | null
    readonly createdAt: Date
  }) {
    const token = ApiToken.generate()
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

  const revokeRecord = Effect.fn(function*(
    record: TokenRecord | undefined,
    notFound: TokenNotFound,
    action: "token.revoked" | "token.revoked_leaked",
    actorId: string | null
  ) {
    if (record === undefined) return yield* notFound
    if (record.revokedAt !== null) return info(record)
    const revoked = { ...record, revokedAt: yield* now }
    yield* table.update(record.id, { revokedAt: revoked.revokedAt })
    yield* audit.record({ action, actorId, userId: record.userId, tokenId: record.id, detail: describe(record) })
    return info(revoked)
  })

  return TokenStore.of({
    create: Effect.fn("TokenStore.create")(function*(input) {
      const at = yield* now
      const userId = input.caller === undefined ? input.userId : input.caller.user.id
      const name = yield* checkName(input.name)
      const expiresAt = yield* checkExpiry(policy, at, input.expiresAt)
      if (input.caller !== undefined) yield* checkCaller(policy, input.caller, input.scopes ?? [])
      const created = yield* table.transaction(Effect.gen(function*() {
        const owner = yield* table.lockUser(userId)
        if (owner === undefined) return yield* new UserNotFound({ userId })
        const scopes = yield* checkScopes(policy, owner, input.scopes ?? [])
        if ((yield* table.liveCount(userId, at)) >= policy.maxLiveTokensPerUser) {
          return yield* new InvalidTokenInput({
            field: "userId",
            problem: `already holds ${policy.maxLiveTokensPerUser} live tokens, the most allowed`
          })
        }
        const made = yield* insertNew({ userId, name, scopes, expiresAt, createdAt: at })
        yield* audit.record({
          action: "token.created",
          actorId: input.actorId ?? userId,
          userId,
          tokenId: made.record.id,
          detail: describe(made.record)
        })
        return made
      }))
      return { token: created.token, info: info(created.record) }
    }),

    list: (userId) => table.list(userId).pipe(Effect.map((rows) => rows.map(info)), Effect.withSpan("TokenStore.list")),

    revoke: Effect.fn("TokenStore.revoke")(function*(userId, tokenId, actorId) {
      return yield* table.transaction(Effect.gen(function*() {
        const record = yield* table.find({ id: tokenId })
        const mine = record?.userId === userId ? record : undefined
        return yield* revokeRecord(mine, new TokenNotFound({ tokenId }), "token.revoked", actorId ?? userId)
      }))
    }),

    revokeById: Effect.fn("TokenStore.revokeById")(function*(tokenId, actorId) {
      return yield* table.transaction(
        Effect.flatMap(table.find({ id: tokenId }), (record) =>
          revokeRecord(record, new TokenNotFound({ tokenId }), "token.revoked", actorId ?? null))
      )
    }),

    revokeLeaked: Effect.fn("TokenStore.revokeLeaked")(function*(token, actorId) {
      return yield* table.transaction(
        Effect.flatMap(table.find({ digest: ApiToken.digest(token, secret) }), (record) =>
          revokeRecord(record, new TokenNotFound({ tokenId: ApiToken.hint(token) }), "token.revoked_leaked", actorId ?? null))
      )
    }),

    rotate: Effect.fn("TokenStore.rotate")(function*(input) {
      const at = yield* now
      const grace = Duration.toMillis(Duration.fromInputUnsafe(input.gracePeriod ?? 0))
      if (!(grace >= 0)) return yield* new InvalidTokenInput({ field: "gracePeriod", problem: "must not be negative" })
      const rotated = yield* table.transaction(Effect.gen(function*() {
        const owner = yield* table.lockUser(input.userId)
        const old = yield* table.find({ id: input.tokenId })
        if (owner === undefined || old === undefined || old.userId !== input.userId) {
          return yield* new TokenNotFound({ tokenId: input.tokenId })
        }
        const state = old.revokedAt !== null
          ? "revoked"
          : old.replacedBy !== null
          ? "already rotated"
          : old.expiresAt !== null && old.expiresAt <= at
          ? "expired"
          : undefined
        if (state !== undefined) return yield* new InvalidTokenInput({ field: "tokenId", problem: `token is ${state}` })
        const lifetime = old.expiresAt === null ? undefined : old.expiresAt.getTime() - old.createdAt.getTime()
        const expiresAt = yield* checkExpiry(
          policy,
          at,
          input.expiresAt ?? (lifetime === undefined ? undefined : new Date(at.getTime() + lifetime))
        )
        const made = yield* insertNew({
          userId: old.userId,
          name: old.name,
          scopes: effectiveScopes(policy, owner, old.scopes),
          expiresAt,
          createdAt: at
        })
        const graceEnd = new Date(at.getTime() + grace)
        const oldEnd = old.expiresAt !== null && old.expiresAt < graceEnd ? old.expiresAt : graceEnd
        yield* table.update(old.id, { expiresAt: oldEnd, replacedBy: made.record.id })
        yield* audit.record({
          action: "token.rotated",
          actorId: input.actorId ?? input.userId,
          userId: old.userId,
          tokenId: old.id,
          detail: `${describe(old)} → ${made.record.id}, old secret until ${oldEnd.toISOString()}`
        })
        return made
      }))
      return { token: rotated.token, info: info(rotated.record) }
    }),

    verify: Effect.fnUntraced(function*(token) { // untraced: the request path (see SessionResolver)
      const found = yield* table.lookup(ApiToken.digest(token, secret))
      if (found === undefined) return yield* new InvalidToken({ reason: "unknown" })
      const { tokenId, user } = found
      if (found.revokedAt !== null) return yield* new InvalidToken({ reason: "revoked", tokenId })
      const at = yield* Clock.currentTimeMillis
      if (found.expiresAt !== null && at >= found.expiresAt.getTime()) {
        return yield* new InvalidToken({ reason: "expired", tokenId })
      }
      if (user.deactivatedAt != null) return yield* new Deactivated({ userId: user.id, credential: "token" })
      yield* lastUsed.touch(tokenId, found.lastUsedAt)
      return { tokenId, user, scopes: effectiveScopes(policy, user, found.scopes) } satisfies VerifiedToken
    })
  })
})

const checkName = (raw: string) => {
  const name = raw.trim()
  if (name.length === 0 || name.length > NAME_MAX) {
    return Effect.fail(new InvalidTokenInput({ field: "name", problem: `must be 1 to ${NAME_MAX} characters` }))
  }
  if (!NAME_PATTERN.test(name)) {
    return Effect.fail(new InvalidTokenInput({ field: "name", problem: "must not contain control characters" }))
  }
  return Effect.succeed(name)
}

const checkExpiry = (policy: TokenPolicy, at: Date, asked: Date | undefined) => {
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
const checkCaller = (policy: TokenPolicy, caller: Session, asked: ReadonlyArray<string>) => {
  const beyond = asked.find((scope) => policy.scopes.includes(scope) && !caller.scopes.includes(scope))
  return beyond === undefined
    ? Effect.void
    : Effect.fail(new InsufficientScope({ scope: beyond, credential: caller.session === null ? "token" : "cookie" }))
}

const checkScopes = (policy: TokenPolicy, owner: User, asked: ReadonlyArray<string>) => {
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
  return Effect.succeed(scopes)
}

/** A Postgres array literal parameter for a text[] column. */
const pgArray = (values: ReadonlyArray<string>) => `{${values.map((v) => JSON.stringify(v)).join(",")}}`

const describe = (record: TokenRecord) => `${JSON.stringify(record.name)} ${record.hint}`

const info = (record: TokenRecord): TokenInfo => ({
  id: record.id,
  userId: record.userId,
  name: record.name,
  hint: record.hint,
  scopes: record.scopes,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  lastUsedAt: record.lastUsedAt,
  revokedAt: record.revokedAt,
  replacedBy: record.replacedBy
})
