/**
 * The resolved shape. Both credentials resolve to `Session`; the only tell is `.session`:
 * Better Auth's session row for a cookie, `null` for an API token.
 */

/** The id of the `fusionAuth()` plugin, which declares `user.deactivatedAt` (the choke point checks it is there). */
export const PLUGIN_ID = "fusion-auth"

/** Better Auth's `user` row, with the column fusion-auth adds. Apps' own fields come along. */
export interface User {
  readonly id: string
  readonly email: string
  readonly name: string
  readonly emailVerified: boolean
  readonly image?: string | null | undefined
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly deactivatedAt?: Date | null | undefined
  readonly [field: string]: unknown
}

/** Better Auth's `session` row. */
export interface SessionRow {
  readonly id: string
  readonly userId: string
  readonly expiresAt: Date
  readonly token: string
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly ipAddress?: string | null | undefined
  readonly userAgent?: string | null | undefined
  readonly [field: string]: unknown
}

/**
 * Who is calling. `session` is `null` exactly when the caller used an API token.
 * `scopes` are the caller's rights now: all the user may grant for a cookie, the token's own
 * scopes within that for a token (see `TokenPolicy`).
 */
export interface Session<U = User, S = SessionRow> {
  readonly user: U
  readonly session: S | null
  readonly scopes: ReadonlyArray<string>
  /**
   * The id of the API token the caller presented (absent for a cookie): tokens it mints
   * record it as their parent, and the audit trail names it as the acting credential.
   */
  readonly tokenId?: string | undefined
  /** The token's own requests per window, when it was given one (absent: the policy's default). */
  readonly rateLimit?: number | undefined
}
