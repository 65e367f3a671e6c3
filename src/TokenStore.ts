/**
 * API tokens at rest: create, list, revoke, and `verify` for the request path.
 *
 * `verify` is one SQL statement (the token joined with its owner) and no write. Only the
 * digest is stored; `create` hands the plaintext back once, as `Redacted`. Revocation is a
 * soft delete scoped to the owner, so another user's token id is simply "not found".
 */
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import * as ApiToken from "./ApiToken.ts"
import { Deactivated, InvalidToken, InvalidTokenInput, TokenNotFound, UserNotFound } from "./Errors.ts"
import { MemoryDatabase, type TokenRecord } from "./MemoryDatabase.ts"
import type { User } from "./Session.ts"

/** What a token list shows: never the secret, never the digest. */
export interface TokenInfo {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly hint: string
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly lastUsedAt: Date | null
  readonly revokedAt: Date | null
}

export interface CreateTokenInput {
  readonly userId: string
  readonly name: string
  readonly expiresAt?: Date | undefined
}

/** The plaintext exists here once; store it nowhere. */
export interface CreatedToken {
  readonly token: Redacted.Redacted<string>
  readonly info: TokenInfo
}

/** A token that passed `verify`, with its owner. */
export interface VerifiedToken {
  readonly tokenId: string
  readonly user: User
}

export class TokenStore extends Context.Service<TokenStore, {
  create(input: CreateTokenInput): Effect.Effect<CreatedToken, UserNotFound | InvalidTokenInput>
  list(userId: string): Effect.Effect<ReadonlyArray<TokenInfo>>
  revoke(userId: string, tokenId: string): Effect.Effect<void, TokenNotFound>
  verify(token: ApiToken.ApiToken): Effect.Effect<VerifiedToken, InvalidToken | Deactivated>
}>()("fusion-auth/TokenStore") {
  /** On Postgres through `SqlClient`; expects the migrated `apiToken` table. */
  static readonly layer: Layer.Layer<TokenStore, never, SqlClient.SqlClient> = Layer.effect(
    TokenStore,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const secret = yield* TokenSecret
      return TokenStore.of({
        create: Effect.fn("TokenStore.create")(function*(input) {
          const { record, token } = yield* newRecord(input, secret)
          yield* sql`insert into "apiToken" ${sql.insert({ ...record })}`.pipe(
            Effect.catch((error) =>
              error.reason._tag === "ConstraintError"
                ? Effect.fail(new UserNotFound({ userId: input.userId }))
                : Effect.die(error)
            )
          )
          return { token, info: info(record) }
        }),
        list: (userId) =>
          sql<TokenRecord>`select * from "apiToken" where "userId" = ${userId} order by "createdAt", "id"`.pipe(
            Effect.map((rows) => rows.map(info)),
            Effect.orDie,
            Effect.withSpan("TokenStore.list")
          ),
        revoke: Effect.fn("TokenStore.revoke")(function*(userId, tokenId) {
          const now = new Date(yield* Clock.currentTimeMillis)
          const rows = yield* sql<{ id: string }>`update "apiToken"
            set "revokedAt" = coalesce("revokedAt", ${now})
            where "id" = ${tokenId} and "userId" = ${userId} returning "id"`.pipe(Effect.orDie)
          if (rows.length === 0) return yield* new TokenNotFound({ tokenId })
        }),
        verify: Effect.fn("TokenStore.verify")(function*(token) {
          const rows = yield* sql<Record<string, unknown>>`select
              t."id" as "fusionTokenId", t."expiresAt" as "fusionExpiresAt", t."revokedAt" as "fusionRevokedAt", u.*
            from "apiToken" t join "user" u on u."id" = t."userId"
            where t."digest" = ${ApiToken.digest(token, secret)}`.pipe(Effect.orDie)
          const row = rows[0]
          if (row === undefined) return yield* new InvalidToken({ reason: "unknown" })
          const { fusionTokenId, fusionExpiresAt, fusionRevokedAt, ...user } = row
          return yield* judge({
            tokenId: fusionTokenId as string,
            expiresAt: fusionExpiresAt as Date | null,
            revokedAt: fusionRevokedAt as Date | null,
            user: user as unknown as User
          })
        })
      })
    })
  )

  /** In memory, over `MemoryDatabase`: same rules, for tests. */
  static readonly layerMemory: Layer.Layer<TokenStore, never, MemoryDatabase> = Layer.effect(
    TokenStore,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      const secret = yield* TokenSecret
      return TokenStore.of({
        create: Effect.fn("TokenStore.create")(function*(input) {
          if (!db.users.has(input.userId)) return yield* new UserNotFound({ userId: input.userId })
          const { record, token } = yield* newRecord(input, secret)
          db.tokens.set(record.id, record)
          return { token, info: info(record) }
        }),
        list: (userId) =>
          Effect.sync(() =>
            [...db.tokens.values()].filter((t) => t.userId === userId).map(info)
          ),
        revoke: Effect.fn("TokenStore.revoke")(function*(userId, tokenId) {
          const record = db.tokens.get(tokenId)
          if (record === undefined || record.userId !== userId) return yield* new TokenNotFound({ tokenId })
          const now = new Date(yield* Clock.currentTimeMillis)
          db.tokens.set(tokenId, { ...record, revokedAt: record.revokedAt ?? now })
        }),
        verify: Effect.fn("TokenStore.verify")(function*(token) {
          const digest = ApiToken.digest(token, secret)
          const record = [...db.tokens.values()].find((t) => t.digest === digest)
          const user = record && db.users.get(record.userId)
          if (record === undefined || user === undefined) return yield* new InvalidToken({ reason: "unknown" })
          return yield* judge({ tokenId: record.id, expiresAt: record.expiresAt, revokedAt: record.revokedAt, user })
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

const NAME_MAX = 100

const newRecord = Effect.fn(function*(input: CreateTokenInput, secret: Redacted.Redacted<string> | undefined) {
  const name = input.name.trim()
  if (name.length === 0 || name.length > NAME_MAX) {
    return yield* new InvalidTokenInput({ field: "name", problem: `must be 1 to ${NAME_MAX} characters` })
  }
  const now = yield* Clock.currentTimeMillis
  const expiresAt = input.expiresAt ?? null
  if (expiresAt !== null && !(expiresAt.getTime() > now)) {
    return yield* new InvalidTokenInput({ field: "expiresAt", problem: "must be a valid time in the future" })
  }
  const token = ApiToken.generate()
  const record: TokenRecord = {
    id: crypto.randomUUID(),
    userId: input.userId,
    name,
    digest: ApiToken.digest(token, secret),
    hint: ApiToken.hint(token),
    createdAt: new Date(now),
    expiresAt,
    lastUsedAt: null,
    revokedAt: null
  }
  return { record, token: token as Redacted.Redacted<string> }
})

const info = ({ digest: _digest, ...rest }: TokenRecord): TokenInfo => ({
  id: rest.id,
  userId: rest.userId,
  name: rest.name,
  hint: rest.hint,
  createdAt: rest.createdAt,
  expiresAt: rest.expiresAt,
  lastUsedAt: rest.lastUsedAt,
  revokedAt: rest.revokedAt
})

/** The rules every store applies to a found token, in this order: revoked, expired, owner. */
const judge = Effect.fn(function*(found: {
  readonly tokenId: string
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly user: User
}) {
  const { tokenId, user } = found
  if (found.revokedAt !== null) return yield* new InvalidToken({ reason: "revoked", tokenId })
  const now = yield* Clock.currentTimeMillis
  if (found.expiresAt !== null && now >= found.expiresAt.getTime()) {
    return yield* new InvalidToken({ reason: "expired", tokenId })
  }
  if (user.deactivatedAt != null) return yield* new Deactivated({ userId: user.id, credential: "token" })
  return { tokenId, user } satisfies VerifiedToken
})

