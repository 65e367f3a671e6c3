/**
 * The app's rules for API tokens: which scopes exist, which a user may grant, how long a
 * token may live, how many a user may hold, and how often `lastUsedAt` is written.
 *
 * Read by `TokenStore` when tokens are made and by `SessionResolver` on every request:
 * a token's rights are always its own scopes ∩ what its owner may grant *now*, so demoting a
 * user narrows their existing tokens on the next request.
 */
import { Context, Duration, Layer } from "effect"
import * as ApiToken from "./ApiToken.ts"
import * as RateLimit from "./RateLimit.ts"
import { MANAGE_TOKENS, SCOPE_PATTERN } from "./Scope.ts"
import type { User } from "./Session.ts"

export { MANAGE_TOKENS, SCOPE_PATTERN } from "./Scope.ts"

export interface TokenPolicy {
  /** Every scope the app knows, e.g. `["read", "write", "admin:users"]`, and `MANAGE_TOKENS`. */
  readonly scopes: ReadonlyArray<string>
  /** The scopes a user may put on a token, and so the rights of their cookie session. */
  readonly grantable: (user: User) => ReadonlyArray<string>
  /** The longest a token may live; a token asked for without an expiry gets this one. */
  readonly maxLifetime: Duration.Duration | undefined
  /** Unrevoked, unexpired tokens one user may hold. */
  readonly maxLiveTokensPerUser: number
  /** `lastUsedAt` is written at most once per this interval per token. */
  readonly lastUsedInterval: Duration.Duration
  /** The prefix new tokens get and every prefix still accepted (see `ApiToken.format`). */
  readonly format: ApiToken.Format
  /** Requests per window for each token (and each user's tokens together); `undefined`: no limit. */
  readonly rateLimit: RateLimit.RateLimitPolicy | undefined
  /** Organization tokens (Better Auth's organization plugin): who may mint one, and what a role may do with one. */
  readonly organizations: OrganizationRules
}

/**
 * What a member's roles in an organization (Better Auth's `member.role`, split on commas) allow
 * with that organization's tokens.
 */
export interface OrganizationRules {
  /** May a member with these roles mint (or rotate) a token of the organization? */
  readonly mint: (roles: ReadonlyArray<string>) => boolean
  /** The scopes a member with these roles may hold on an organization token, read on every request. */
  readonly grantable: (roles: ReadonlyArray<string>, user: User) => ReadonlyArray<string>
}

/** The organization plugin's creator role and its admin role: who mints organization tokens by default. */
const MINTING_ROLES = ["owner", "admin"]

export interface TokenPolicyOptions {
  readonly scopes?: ReadonlyArray<string> | undefined
  readonly grantable?: ((user: User) => ReadonlyArray<string>) | undefined
  readonly maxLifetime?: Duration.Input | undefined
  readonly maxLiveTokensPerUser?: number | undefined
  readonly lastUsedInterval?: Duration.Input | undefined
  /** The app's own token prefix, e.g. `acme_`; default `sk_live_` (Stripe's too: choose your own). */
  readonly prefix?: string | undefined
  /** Earlier prefixes whose tokens keep working until they expire, e.g. `["sk_live_"]` after a change. */
  readonly legacyPrefixes?: ReadonlyArray<string> | undefined
  /**
   * Rate limits for token callers, counted by `requireSession`, the Start middleware, HttpApi's
   * `Authentication` and the token endpoints (never by `getSession`): in memory, or shared
   * through Better Auth's `secondaryStorage` when the app has one. Default: none.
   */
  readonly rateLimit?: RateLimit.RateLimitOptions | undefined
  /**
   * Organization tokens. `mint`: which roles may mint one (default: `owner` and `admin`).
   * `grantable`: the scopes a role may hold on one, within what the user may grant (default:
   * all of them for a role that may mint; all but `tokens:manage` for any other), so lowering
   * a member's role narrows the organization's tokens on the next request.
   */
  readonly organizations?: Partial<OrganizationRules> | undefined
}

/** Builds a policy; throws at start-up on a scope name that could never be valid, a bad prefix or rate limit. */
export const make = (options: TokenPolicyOptions = {}): TokenPolicy => {
  const scopes = [...new Set([...(options.scopes ?? []), MANAGE_TOKENS])]
  for (const scope of scopes) {
    if (!SCOPE_PATTERN.test(scope)) throw new Error(`fusion-auth: scope ${JSON.stringify(scope)} must match ${SCOPE_PATTERN}`)
  }
  const grantable = options.grantable
  const mint = options.organizations?.mint ?? ((roles: ReadonlyArray<string>) => roles.some((role) => MINTING_ROLES.includes(role)))
  const roleGrantable = options.organizations?.grantable
  return {
    scopes,
    // A user may always hand a token the management their own cookie session has.
    grantable: grantable === undefined ? () => scopes : (user) => [...grantable(user), MANAGE_TOKENS],
    maxLifetime: options.maxLifetime === undefined ? undefined : Duration.fromInputUnsafe(options.maxLifetime),
    maxLiveTokensPerUser: options.maxLiveTokensPerUser ?? 50,
    lastUsedInterval: Duration.fromInputUnsafe(options.lastUsedInterval ?? "1 minute"),
    format: options.prefix === undefined && options.legacyPrefixes === undefined
      ? ApiToken.DEFAULT
      : ApiToken.format(options.prefix, options.legacyPrefixes),
    rateLimit: options.rateLimit === undefined ? undefined : RateLimit.make(options.rateLimit),
    organizations: {
      mint,
      grantable: roleGrantable ?? ((roles) => (mint(roles) ? scopes : scopes.filter((scope) => scope !== MANAGE_TOKENS)))
    }
  }
}

/** The policy in force: a requirement of every layer that reads it, so none runs on a default by mistake. */
export class CurrentTokenPolicy extends Context.Service<CurrentTokenPolicy, TokenPolicy>()("fusion-auth/TokenPolicy") {}

/** The policy of these options, built now (a bad scope name throws here); `layer()` declares no scopes. */
export const layer = (options?: TokenPolicyOptions): Layer.Layer<CurrentTokenPolicy> =>
  Layer.succeed(CurrentTokenPolicy, make(options))

/**
 * The rights a user has now: for a cookie, all they may grant; for a token, its scopes within
 * that; for an organization's token, within what their roles there allow too (`roles`).
 */
export const effectiveScopes = (
  policy: TokenPolicy,
  user: User,
  tokenScopes?: ReadonlyArray<string>,
  roles?: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const byRole = roles === undefined ? undefined : policy.organizations.grantable(roles, user)
  const grantable = policy.grantable(user).filter((scope) => policy.scopes.includes(scope) && (byRole === undefined || byRole.includes(scope)))
  return tokenScopes === undefined ? grantable : tokenScopes.filter((scope) => grantable.includes(scope))
}

/** A member's roles as Better Auth's organization plugin stores them: comma-separated, trimmed, none empty. */
export const roleList = (role: string): ReadonlyArray<string> =>
  role.split(",").map((r) => r.trim()).filter((r) => r.length > 0)
