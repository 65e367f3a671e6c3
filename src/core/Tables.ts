/**
 * The rows fusion-auth keeps and the table operations its rules need: `sql/` supplies them
 * on Postgres, `memory/` in memory, and the services in `services/` hold every rule.
 *
 * Types only. Operations never fail: on SQL a database failure is a defect (a 5xx), never a
 * refusal, so the rules above cannot mistake one for the other.
 */
import type { Effect } from "effect"
import type { LockOutFields } from "./LockOut.ts"
import type { User } from "./Session.ts"

/** A user's row in an organization's `member` table: its id and the role it holds. */
export interface Membership {
  readonly id: string
  readonly role: string
}

/** A token row as the SQL table holds it (digest, never the plaintext). */
export interface TokenRecord {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly digest: string
  readonly hint: string
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly lastUsedAt: Date | null
  readonly revokedAt: Date | null
  readonly scopes: ReadonlyArray<string>
  /** The token this one was rotated to; set once, never cleared. */
  readonly replacedBy: string | null
  /** The token that minted this one (a token caller's), or `null`: it never outlives that parent. */
  readonly parentId: string | null
  /** Its own requests per window (`TokenPolicy.rateLimit`); `null`: the policy's default. */
  readonly rateLimit: number | null
  /** The organization (Better Auth's organization plugin) it acts for, or `null`: its user's own. */
  readonly organizationId: string | null
  /**
   * With `organizationId`, the id of its owner's `member` row there when it was minted: a member
   * removed and added again is a new row, and the token stays refused. `null`: a user's own token,
   * or one minted before this was recorded (any membership of its owner there holds).
   */
  readonly memberId: string | null
  /**
   * The first token of its lineage, from which it descends by minting or rotation; `null`: it is
   * the first (its own id). A lineage shares one rate-limit count.
   */
  readonly lineageId: string | null
}

export type AuditAction =
  | "token.created"
  | "token.rotated"
  | "token.revoked"
  | "token.revoked_leaked"
  | "user.deactivated"
  | "user.reactivated"

export interface AuditEvent {
  readonly id: string
  readonly at: Date
  readonly action: AuditAction
  /** Who did it: a user id, or a label such as `cli` or `system`; `null` when unknown. */
  readonly actorId: string | null
  /** The credential that acted: `token:<id>` or `session:<id>`; `null` for an operator (the CLI, the app's own code). */
  readonly actorCredential: string | null
  /** Whose user or token it was. */
  readonly userId: string | null
  readonly tokenId: string | null
  /** A safe detail: a token's name and hint, a successor's id. */
  readonly detail: string | null
}

export interface AuditFilter {
  readonly userId?: string | undefined
  readonly limit?: number | undefined
}

export interface UserFilter {
  /** Only deactivated users (`true`) or only active ones (`false`). */
  readonly deactivated?: boolean | undefined
}

/** A transaction and the user lock, one helper per backend shared by the token and user rules. */
export interface UserLock {
  transaction<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E>
  /** The user, if they exist; on SQL (`for update`) it also serialises changes to that user and their tokens. */
  lockUser(userId: string): Effect.Effect<User | undefined>
}

/** What `TokenStore.verify` reads: the token joined with its owner, in one statement. */
export interface TokenLookup {
  readonly tokenId: string
  readonly expiresAt: Date | null
  readonly revokedAt: Date | null
  readonly lastUsedAt: Date | null
  readonly scopes: ReadonlyArray<string>
  readonly rateLimit: number | null
  /** Its lineage (`TokenRecord.lineageId`, or its own id when it is the first). */
  readonly lineageId: string
  readonly organizationId: string | null
  /** The owner's member role in `organizationId`, read in the same statement; `null`: no longer a member (or no such organization). */
  readonly memberRole: string | null
  /** The owner as Better Auth returns a user (its output rule applied). */
  readonly user: User
  /** The owner's lock-out fields, read apart from `user` (the output rule may hide them). */
  readonly lock: LockOutFields
}

/** A token as a list shows it: with whether its organization has let it go (`TokenInfo.removed`). */
export interface ListedToken extends TokenRecord {
  readonly removed: boolean
}

export interface TokenTable extends UserLock {
  /** Tokens neither revoked, expired nor removed (`ListedToken.removed`): what `maxLiveTokensPerUser` counts. */
  liveCount(userId: string, now: Date): Effect.Effect<number>
  insert(record: TokenRecord): Effect.Effect<void>
  list(userId: string): Effect.Effect<ReadonlyArray<ListedToken>>
  /** The owner of a token, read without locking it (to lock the owner first). */
  ownerOf(by: { readonly id: string } | { readonly digest: string }): Effect.Effect<string | undefined>
  /** Inside a transaction, on SQL, also locks the row. */
  find(by: { readonly id: string } | { readonly digest: string }): Effect.Effect<TokenRecord | undefined>
  update(id: string, changes: Partial<Pick<TokenRecord, "expiresAt" | "revokedAt" | "replacedBy">>): Effect.Effect<void>
  /** Every token minted, directly or not, by this one; on SQL, inside a transaction, locked. */
  descendants(id: string): Effect.Effect<ReadonlyArray<TokenRecord>>
  /** Tokens acting for an organization, oldest first. */
  listByOrganization(organizationId: string): Effect.Effect<ReadonlyArray<ListedToken>>
  /**
   * A user's member role in an organization (the organization plugin's `member` table);
   * `undefined` when not a member, or when the app has no organization plugin.
   */
  membership(organizationId: string, userId: string): Effect.Effect<Membership | undefined>
  /** The one request-path statement, by digest. */
  lookup(digest: string): Effect.Effect<TokenLookup | undefined>
  /**
   * Moves each token's `lastUsedAt` forward to its time (ISO strings), never back, and never
   * waits for a row another transaction holds (a revocation, another instance's flush): it
   * answers those tokens' ids, left for a later write.
   */
  writeLastUsed(ids: ReadonlyArray<string>, times: ReadonlyArray<string>): Effect.Effect<ReadonlyArray<string>>
  /**
   * The fingerprint of the app's token secret as its own `migrate()` recorded it
   * (`TokenSecret.fingerprint`), or `undefined` when none is; read outside a transaction,
   * never on the request path.
   */
  digestScheme(): Effect.Effect<string | undefined>
}

export interface UserTable extends UserLock {
  setDeactivatedAt(userId: string, value: Date | null): Effect.Effect<User>
  /** The user's lock-out fields, by primary key. */
  status(userId: string): Effect.Effect<LockOutFields | undefined>
  findByEmail(email: string): Effect.Effect<User | undefined>
  list(filter: UserFilter): Effect.Effect<ReadonlyArray<User>>
}

export interface AuditTable {
  insert(event: AuditEvent): Effect.Effect<void>
  /** Newest first, at most `limit`. */
  list(userId: string | undefined, limit: number): Effect.Effect<ReadonlyArray<AuditEvent>>
}
