/**
 * Per-token rate limits, the pure part: the policy, the window a moment falls in, the
 * decision over the counts and the headers of the IETF draft (RateLimit-Policy, RateLimit).
 * Counting is `services/RateLimitCounter.ts`; the step after resolution `services/RateLimiter.ts`.
 *
 * Fixed windows, on multiples of the window since the epoch: a request adds one to its
 * window's counter and is refused once the count passes the limit. One increment is the whole
 * cost, so Better Auth's `secondaryStorage.increment` shares it across instances in one
 * round trip; every instance computes the same window, so N instances never multiply the
 * limit; the window does not move with the requests (better-auth#6035), and its end is
 * exact, which is what `RateLimit`'s `t` and `Retry-After` promise. The price: a caller may
 * spend one window's quota at its end and the next one's at the start.
 */
import { Duration } from "effect"

/** What a limit applies to: one token, or all of one user's tokens together. */
export type LimitScope = "token" | "user"

export interface RateLimitOptions {
  /** Requests a token may make per window, when it was made without a limit of its own. */
  readonly requests: number
  /** The window, in whole seconds; default one minute. */
  readonly window?: Duration.Input | undefined
  /** The highest limit a token may be given when it is made; default `requests`. */
  readonly maxRequests?: number | undefined
  /** Requests all of one user's tokens together may make per window; default no such limit. */
  readonly perUser?: number | undefined
  /**
   * When the shared counter (Better Auth's `secondaryStorage`) fails or is slow: `"closed"`
   * (default) refuses the request with a 503, `"open"` admits it uncounted and logs a warning.
   * Either way the session is the one the database gave.
   */
  readonly onStorageFailure?: "closed" | "open" | undefined
  /** How long a request waits for a shared count before it counts as failed; default 500 ms. */
  readonly storageTimeout?: Duration.Input | undefined
}

export interface RateLimitPolicy {
  readonly requests: number
  readonly windowMs: number
  readonly maxRequests: number
  readonly perUser: number | undefined
  readonly onStorageFailure: "closed" | "open"
  readonly storageTimeout: Duration.Duration
}

const positive = (name: string, value: number | undefined): void => {
  if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
    throw new Error(`fusion-auth: tokens.rateLimit.${name} must be a whole number above 0`)
  }
}

/** The policy of these options; throws at start-up on a value that could never work. */
export const make = (options: RateLimitOptions): RateLimitPolicy => {
  positive("requests", options.requests)
  positive("maxRequests", options.maxRequests)
  positive("perUser", options.perUser)
  const windowMs = Duration.toMillis(Duration.fromInputUnsafe(options.window ?? "1 minute"))
  if (!(windowMs >= 1000 && windowMs % 1000 === 0 && Number.isSafeInteger(windowMs))) {
    throw new Error("fusion-auth: tokens.rateLimit.window must be a whole number of seconds, at least one")
  }
  const maxRequests = options.maxRequests ?? options.requests
  if (options.requests > maxRequests) throw new Error("fusion-auth: tokens.rateLimit.requests must not exceed maxRequests")
  if (options.onStorageFailure !== undefined && options.onStorageFailure !== "closed" && options.onStorageFailure !== "open") {
    throw new Error(`fusion-auth: tokens.rateLimit.onStorageFailure must be "closed" or "open"`)
  }
  return {
    requests: options.requests,
    windowMs,
    maxRequests,
    perUser: options.perUser,
    onStorageFailure: options.onStorageFailure ?? "closed",
    storageTimeout: Duration.fromInputUnsafe(options.storageTimeout ?? "500 millis")
  }
}

/** A window: its number since the epoch (part of the counter's key) and the moment it ends. */
export interface Window {
  readonly index: number
  readonly resetAt: number
}

/** The window `now` falls in: a moment exactly on a boundary starts the next window. */
export const windowAt = (windowMs: number, now: number): Window => {
  const index = Math.floor(now / windowMs)
  return { index, resetAt: (index + 1) * windowMs }
}

/** One limit and its count in this window, this request included. */
export interface Count {
  readonly scope: LimitScope
  readonly limit: number
  readonly used: number
}

/** The limit a caller meets first of two: the one over its limit, or else the one with less left. */
export const tighter = (a: Count, b: Count): Count => (b.limit - b.used < a.limit - a.used ? b : a)

/** True when this request is past its limit. */
export const exceeded = (count: Count): boolean => count.used > count.limit

/** Whole seconds until `resetAt`, at least one (a client told 0 would retry at once). */
export const secondsUntil = (resetAt: number, now: number): number => Math.max(1, Math.ceil((resetAt - now) / 1000))

/**
 * The draft's fields (draft-ietf-httpapi-ratelimit-headers-09) for one limit: `RateLimit-Policy`
 * names it with its quota and window, `RateLimit` what is left and the seconds to its reset.
 */
export const headers = (
  quota: { readonly scope: LimitScope; readonly limit: number; readonly window: number; readonly remaining: number; readonly reset: number }
): Readonly<Record<string, string>> => ({
  "ratelimit-policy": `"${quota.scope}";q=${quota.limit};w=${quota.window}`,
  ratelimit: `"${quota.scope}";r=${quota.remaining};t=${quota.reset}`
})
