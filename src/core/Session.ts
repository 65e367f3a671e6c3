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
  /** Set while the app's directory has the user inactive (Better Auth's SCIM plugin): a lock-out apart from `deactivatedAt`. */
  readonly deprovisionedAt?: Date | null | undefined
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
  /**
   * The token's lineage: the id of the first token it descends from by minting or rotation
   * (its own id when a user or an operator made it). Rate limits count a lineage as one, so a
   * token cannot multiply its limit by minting or rotating.
   */
  readonly lineageId?: string | undefined
  /**
   * With Better Auth's organization plugin, the organization the caller acts for, in the
   * plugin's own terms: for a cookie, its session's `activeOrganizationId` (`null` when none is
   * active: the user's choice, not proof of membership, which Better Auth tells); for a token
   * acting for an organization, that organization, its membership checked on every request.
   * Absent for a user's own token, and without the plugin.
   */
  readonly activeOrganizationId?: string | null | undefined
  /**
   * The caller's member role in `activeOrganizationId` (the plugin's `member.role`, roles
   * comma-separated), for a token acting for an organization: read in the token's one
   * statement, on every request. A cookie's role is Better Auth's to tell
   * (`auth.api.getActiveMemberRole`): fusion-auth reads no member row for a cookie.
   */
  readonly memberRole?: string | undefined
}
