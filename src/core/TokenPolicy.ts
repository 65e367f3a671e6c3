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
}

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
}

/** Builds a policy; throws at start-up on a scope name that could never be valid, a bad prefix or rate limit. */
export const make = (options: TokenPolicyOptions = {}): TokenPolicy => {
  const scopes = [...new Set([...(options.scopes ?? []), MANAGE_TOKENS])]
  for (const scope of scopes) {
    if (!SCOPE_PATTERN.test(scope)) throw new Error(`fusion-auth: scope ${JSON.stringify(scope)} must match ${SCOPE_PATTERN}`)
  }
  const grantable = options.grantable
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
    rateLimit: options.rateLimit === undefined ? undefined : RateLimit.make(options.rateLimit)
  }
}

/** The policy in force: a requirement of every layer that reads it, so none runs on a default by mistake. */
export class CurrentTokenPolicy extends Context.Service<CurrentTokenPolicy, TokenPolicy>()("fusion-auth/TokenPolicy") {}

/** The policy of these options, built now (a bad scope name throws here); `layer()` declares no scopes. */
export const layer = (options?: TokenPolicyOptions): Layer.Layer<CurrentTokenPolicy> =>
  Layer.succeed(CurrentTokenPolicy, make(options))

/** The rights a user has now: for a cookie, all they may grant; for a token, its scopes within that. */
export const effectiveScopes = (
  policy: TokenPolicy,
  user: User,
  tokenScopes?: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const grantable = policy.grantable(user).filter((scope) => policy.scopes.includes(scope))
  return tokenScopes === undefined ? grantable : tokenScopes.filter((scope) => grantable.includes(scope))
}
