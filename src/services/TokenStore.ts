/**
 * API tokens at rest: create, list, rotate, revoke (by id or by leaked value), and `verify`
 * for the request path. The rules live here; each backend's table operations in
 * `sql/TokenTable.ts` and `memory/TokenTable.ts`, the pure checks in `core/TokenRules.ts`.
 *
 * `verify` is one SQL statement (the token joined with its owner) and no write: `lastUsedAt`
 * is left to `LastUsed`. It answers for the token alone: a deactivated owner is returned as
 * is, for `SessionResolver` to refuse. Only the digest is stored; `create` and `rotate` hand
 * the plaintext back once, as `Redacted` (their rules: `TokenMint.ts`). Every change is one
 * transaction with its audit event.
 *
 * `create`, `rotate` and `revokeLeaked`, which digest a new or presented token, first refuse
 * (`TokenSecretMismatch`, see `checkDigestScheme`) where the app's `migrate()` recorded another
 * secret's digest scheme. `revoke`, `revokeById` and `list` read no digest and are allowed;
 * `verify`, the request path, gains no statement (a wrong secret there finds no token).
 */
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentUserModel } from "../core/UserModel.ts"
import * as ApiToken from "../core/ApiToken.ts"
import { lockOut } from "../core/LockOut.ts"
import * as Metrics from "../core/Metrics.ts"
import { InvalidToken, TokenNotFound, type TokenSecretMismatch } from "../core/Errors.ts"
import type { ListedToken, TokenRecord, TokenTable } from "../core/Tables.ts"
import {
  type CreatedToken,
  type CreateTokenInput,
  info,
  type RotateTokenInput,
  type TokenInfo,
  type VerifiedToken
} from "../core/TokenTypes.ts"
import { CurrentTokenPolicy, effectiveScopes, roleList } from "../core/TokenPolicy.ts"
import { fingerprint, TokenSecret } from "../core/TokenSecret.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import * as MemoryTokenTable from "../memory/TokenTable.ts"
import * as SqlTokenTable from "../sql/TokenTable.ts"
import { AuditLog } from "./AuditLog.ts"
import { LastUsed } from "./LastUsed.ts"
import { checkDigestScheme, create, type CreateErrors, type MintDeps, rotate } from "./TokenMint.ts"
import { lockedFind, revokeRecord } from "./TokenLineage.ts"

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
   * `actorCredential` names the credential that asked, for the audit trail; with
   * `organizationId` (an organization's token asking, `confinedTo`), a token of another is not found.
   */
  revoke(
    userId: string,
    tokenId: string,
    actorId?: string,
    actorCredential?: string | null,
    organizationId?: string
  ): Effect.Effect<TokenInfo, TokenNotFound>
  /** Revoke by id alone, for administrators. */
  revokeById(tokenId: string, actorId?: string): Effect.Effect<TokenInfo, TokenNotFound>
  /**
   * Revoke by plaintext, e.g. one a secret scanner reported, without knowing owner or id.
   * `note` (where it was found) goes to the audit event, with the token itself replaced by its hint.
   */
  revokeLeaked(token: ApiToken.ApiToken, actorId?: string, note?: string): Effect.Effect<TokenInfo, TokenNotFound | TokenSecretMismatch>
  /**
   * A token caller may rotate only a token whose scopes it holds itself (`InsufficientScope`).
   * The old token's descendants end when its grace does. A grace keeps the old token live
   * beside its successor, so at `maxLiveTokensPerUser` it is refused (`InvalidTokenInput`).
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

/** What the rules read besides their table. */
type Requirements = AuditLog | LastUsed | CurrentTokenPolicy | TokenSecret

/** The table and what the rules read, handed to each operation below. */
interface Deps extends MintDeps {
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
    list: (userId) => table.list(userId).pipe(Effect.map(listed), Effect.withSpan("TokenStore.list")),
    listByOrganization: (organizationId) =>
      table.listByOrganization(organizationId).pipe(Effect.map(listed), Effect.withSpan("TokenStore.listByOrganization")),
    revoke: Effect.fn("TokenStore.revoke")(function*(userId, tokenId, actorId, actorCredential, organizationId) {
      const mine = (record: TokenRecord | undefined) =>
        record?.userId === userId && (organizationId === undefined || record.organizationId === organizationId) ? record : undefined
      return yield* table.transaction(Effect.flatMap(lockedFind(table, { id: tokenId }), (record) =>
        revoke(mine(record), new TokenNotFound({ tokenId }), "token.revoked", {
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

const listed = (rows: ReadonlyArray<ListedToken>) => rows.map((row) => info(row, row.removed))

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
    if (lockedOut === undefined) yield* lastUsed.touch(tokenId, found.lastUsedAt, at)
    return {
      tokenId,
      user,
      scopes: effectiveScopes(policy, user, found.scopes, memberRole === null ? undefined : roleList(memberRole)),
      rateLimit: found.rateLimit,
      lineageId: found.lineageId,
      organization: organizationId === null || memberRole === null ? undefined : { id: organizationId, role: memberRole },
      lockedOut
    } satisfies VerifiedToken
  })
