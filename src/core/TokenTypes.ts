/**
 * What the token operations take and give: inputs, the list view (`TokenInfo`), the one-time
 * plaintext (`CreatedToken`) and what the request path learns (`VerifiedToken`). Pure data.
 */
import type { Duration, Redacted } from "effect"
import type { LockOutReason } from "./LockOut.ts"
import type { Session, User } from "./Session.ts"
import type { TokenRecord } from "./Tables.ts"

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
  /** Its own requests per window; `null`: the policy's default (`TokenPolicy.rateLimit`). */
  readonly rateLimit: number | null
  /** The organization it acts for; `null`: its user's own token. */
  readonly organizationId: string | null
  /**
   * An organization's token whose member row (the one it was minted under) is gone: the member
   * removed, or the organization deleted. Refused for good (`InvalidToken`, reason `removed`; a
   * member added again is a new row) and not counted as live; revoke it to tidy the list. A
   * token from before that row was recorded, and every organization's token while the app has
   * no organization plugin, is refused too but may come back: not `removed`, and still counted.
   */
  readonly removed: boolean
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
  /**
   * Its own requests per window, up to the policy's `rateLimit.maxRequests` (and, minted by a
   * token, up to that token's own); absent: the policy's default.
   */
  readonly rateLimit?: number | undefined
  /**
   * The organization (Better Auth's organization plugin) the token acts for: the owner must be a
   * member whose role may mint (`TokenPolicy.organizations`). Absent: the user's own token, or,
   * minted by an organization's token, that organization.
   */
  readonly organizationId?: string | undefined
  /** Who asks, for the audit trail; defaults to the owner. */
  readonly actorId?: string | undefined
}

/**
 * A token to rotate: by `caller`, the signed-in session (the token must be theirs, and a token
 * caller may rotate only a token whose scopes it holds itself), or by `userId`, an operator's.
 */
export type RotateTokenInput = RotateFields & (
  | { readonly caller: Session; readonly userId?: undefined }
  | { readonly userId: string; readonly caller?: undefined }
)

export interface RotateFields {
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

/**
 * A live token (not revoked, not expired), its owner and the rights it carries now. The owner
 * may be locked out (`lockedOut` says why): refusing them is the resolver's decision, for both
 * credentials.
 */
export interface VerifiedToken {
  readonly tokenId: string
  readonly user: User
  readonly scopes: ReadonlyArray<string>
  /** Its own requests per window, when it has one. */
  readonly rateLimit: number | null
  /** Its lineage, counted as one against rate limits (`TokenRecord.lineageId`). */
  readonly lineageId: string
  /** The organization it acts for and its owner's member role there, read with it; `undefined`: the user's own token. */
  readonly organization: { readonly id: string; readonly role: string } | undefined
  readonly lockedOut: LockOutReason | undefined
}

/** The list view of a stored token: never the digest. `removed` is read by the lists (`ListedToken`). */
export const info = (record: TokenRecord, removed = false): TokenInfo => ({
  id: record.id,
  userId: record.userId,
  name: record.name,
  hint: record.hint,
  scopes: record.scopes,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  lastUsedAt: record.lastUsedAt,
  revokedAt: record.revokedAt,
  replacedBy: record.replacedBy,
  rateLimit: record.rateLimit,
  organizationId: record.organizationId,
  removed
})

/** A token as the audit trail names it: its name and hint, never more. */
export const describe = (record: TokenRecord) => `${JSON.stringify(record.name)} ${record.hint}`
