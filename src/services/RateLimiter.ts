/**
 * The step after resolution: a token caller's requests counted against its rate limits
 * (`TokenPolicy.rateLimit`): its own, or the policy's default, and the policy's limit for all
 * of one user's tokens together. Past one: `RateLimited`, a 429. Cookie callers are not counted.
 *
 * Used by the doors that admit a caller (`requireSession`, the Start middleware, HttpApi's
 * `Authentication`, the token endpoints), each counting the request it admits; never by
 * `getSession`, which only asks who is calling. Resolution keeps its three errors: this step
 * only ever adds its own.
 *
 * The surprising part: a token refused once in a window is refused again until the window
 * ends without a statement or a count (by its digest, kept in memory until then), so a client
 * hammering past its limit costs the database nothing. Counting never writes to the database.
 * With a shared storage, a token this process has admitted before has its count started
 * alongside its resolution, so the request waits for the slower of two round trips, not both.
 */
import { Context, Effect, Exit, Layer } from "effect"
import * as ApiToken from "../core/ApiToken.ts"
import { presented } from "../core/Authorization.ts"
import { type AuthError, RateLimited } from "../core/Errors.ts"
import * as RateLimit from "../core/RateLimit.ts"
import type { Session } from "../core/Session.ts"
import { CurrentTokenPolicy } from "../core/TokenPolicy.ts"
import { TokenSecret } from "../core/TokenSecret.ts"
import { type CounterUnavailable, RateLimitCounter } from "./RateLimitCounter.ts"
import { SessionResolver } from "./SessionResolver.ts"

export class RateLimiter extends Context.Service<RateLimiter, {
  /** `SessionResolver.resolve`, then the caller counted: a token past a limit is `RateLimited`. */
  admit(headers: Headers): Effect.Effect<Session, AuthError | RateLimited>
}>()("fusion-auth/RateLimiter") {
  /** Over the app's resolver; with no `rateLimit` in the policy, `admit` is `resolve` itself. */
  static readonly layer: Layer.Layer<RateLimiter, never, SessionResolver | CurrentTokenPolicy | TokenSecret | RateLimitCounter> = Layer
    .effect(
      RateLimiter,
      Effect.gen(function*() {
        const resolver = yield* SessionResolver
        const { rateLimit: limits, format } = yield* CurrentTokenPolicy
        if (limits === undefined) return RateLimiter.of({ admit: resolver.resolve })
        const secret = yield* TokenSecret
        const counter = yield* RateLimitCounter
        const window = limits.windowMs / 1000

        /**
         * Tokens refused in the latest window, by digest, with the limit they met. A new window
         * starts with none: refusals end with their window, all at once. (A request of an earlier
         * window, answered late, is neither answered from nor remembered here.)
         */
        type Refusals = Map<string, { readonly met: RateLimit.Count; readonly tokenId: string }>
        let refused = { index: -Infinity, byDigest: new Map() as Refusals }
        const refusedIn = (index: number): Refusals => {
          if (index > refused.index) refused = { index, byDigest: new Map() }
          return index === refused.index ? refused.byDigest : new Map()
        }
        /** The digest of the request's API token, the key of a refusal. */
        const digestOf = (headers: Headers): string | undefined => {
          const credential = presented(headers, format)
          return credential._tag === "Bearer" ? ApiToken.digest(credential.token, secret) : undefined
        }
        const exceeded = (met: RateLimit.Count, tokenId: string, resetAt: number, now: number) =>
          new RateLimited({ reason: "exceeded", scope: met.scope, limit: met.limit, window, retryAfter: RateLimit.secondsUntil(resetAt, now), tokenId })

        let warnedAt = -Infinity
        /** The storage failed: refused (closed) or admitted uncounted (open), with a warning at most once a window. */
        const unavailable = (session: Session, limit: number, now: number, cause: unknown) => {
          const open = limits.onStorageFailure === "open"
          const warn = now - warnedAt < limits.windowMs ? Effect.void : Effect.suspend(() => {
            warnedAt = now
            return Effect.logWarning(`fusion-auth: a rate limit could not be counted (secondaryStorage failed); ${open ? "admitting" : "refusing"} token callers, as onStorageFailure is "${limits.onStorageFailure}"`, cause)
          })
          return Effect.andThen(
            warn,
            open ? Effect.succeed(session) : Effect.fail(new RateLimited({ reason: "unavailable", scope: "token", limit, window, retryAfter: 1, tokenId: session.tokenId }))
          )
        }

        /** The keys a token's requests count under: its lineage (the tokens it minted, its rotations' successors count as one), and its user. */
        interface Keys {
          readonly token: string
          readonly user: string
        }
        /** A request's counts under those keys (its user's 0 without `perUser`), this request included. */
        interface Used {
          readonly token: number
          readonly user: number
        }
        const keysOf = (session: Session, tokenId: string): Keys => ({ token: `token:${session.lineageId ?? tokenId}`, user: `user:${session.user.id}` })
        const perUser = limits.perUser
        /** A token's limit: its own, else the policy's. */
        const limitOf = (session: Session) => session.rateLimit ?? limits.requests
        /** This request's counts started (its lineage's, and its user's with `perUser`): the wait for both. */
        // A counter without `begin` (an app's own) counts when its count is waited for.
        const beginOne = counter.begin ?? ((key: string, at: RateLimit.Window) => Effect.succeed(counter.increment(key, at)))
        const begin = (keys: Keys, at: RateLimit.Window): Effect.Effect<Effect.Effect<Used, CounterUnavailable>> =>
          perUser === undefined
            ? Effect.map(beginOne(keys.token, at), (token) => Effect.map(token, (used) => ({ token: used, user: 0 })))
            : Effect.zipWith(beginOne(keys.token, at), beginOne(keys.user, at), (token, user) =>
              // Waited for together: neither waits out the other's timeout first.
              Effect.zipWith(token, user, (usedByToken, usedByUser) => ({ token: usedByToken, user: usedByUser }), { concurrent: true }))

        /** A request's counts held against its session's limits: the session, or the refusal (remembered for the rest of the window). */
        const verdict = (session: Session, tokenId: string, used: Used, digest: string | undefined, headers: Headers, at: RateLimit.Window, now: number): Effect.Effect<Session, RateLimited> => {
          const byToken: RateLimit.Count = { scope: "token", limit: limitOf(session), used: used.token }
          const met = perUser === undefined ? byToken : RateLimit.tighter(byToken, { scope: "user", limit: perUser, used: used.user })
          if (!RateLimit.exceeded(met)) return Effect.succeed(session)
          const key = digest ?? digestOf(headers)
          if (key !== undefined) refusedIn(at.index).set(key, { met, tokenId })
          return Effect.fail(exceeded(met, tokenId, at.resetAt, now))
        }
        /** `verdict` once `begin`'s wait gives the counts; a storage that failed is `unavailable`. */
        const decide = (session: Session, tokenId: string, counts: Effect.Effect<Used, unknown>, digest: string | undefined, headers: Headers, at: RateLimit.Window, now: number) =>
          Effect.matchEffect(counts, {
            onFailure: (cause) => unavailable(session, limitOf(session), now, cause),
            onSuccess: (used) => verdict(session, tokenId, used, digest, headers, at, now)
          })

        /**
         * Where a count takes a round trip (a shared storage): the keys of the tokens this process
         * has admitted, by digest, so the next request of one starts its count alongside its
         * resolution rather than after it. A lineage and a user never change for a digest, and the
         * session found is still what decides. One such early count per token is in flight at a
         * time (`early`; its other requests are counted after their resolution), and a token whose
         * resolution gives no session (refused, or the database failing) is forgotten: a token
         * revoked or locked out meanwhile has at most one request more counted by this process,
         * against its lineage (and user), then none. At most `LEARNED` tokens, all forgotten when full.
         */
        const learned = counter.remote === true ? new Map<string, Keys>() : undefined
        const early = new Set<string>()
        const LEARNED = 10_000
        const learn = (digest: string | undefined, keys: Keys) => {
          if (learned === undefined || digest === undefined) return
          if (learned.size >= LEARNED) learned.clear()
          learned.set(digest, keys)
        }

        /** The request counted after its resolution: a token seen for the first time, or every token with the count in memory. */
        const incrementNow = counter.remote === true ? undefined : counter.incrementNow
        const count = (session: Session, tokenId: string, headers: Headers, digest: string | undefined, at: RateLimit.Window, now: number) => {
          const keys = keysOf(session, tokenId)
          // A counter that never waits (in memory) counts at once: no effect to run per count.
          if (incrementNow !== undefined) {
            const used = { token: incrementNow(keys.token, at), user: perUser === undefined ? 0 : incrementNow(keys.user, at) }
            return verdict(session, tokenId, used, digest, headers, at, now)
          }
          learn(digest, keys)
          return Effect.flatMap(begin(keys, at), (counts) => decide(session, tokenId, counts, digest, headers, at, now))
        }

        /** A token's count started with its resolution, under the keys its last admitted request had. */
        const countAlongside = (answer: Effect.Effect<Session, AuthError>, keys: Keys, headers: Headers, digest: string, at: RateLimit.Window, now: number) => {
          early.add(digest)
          return Effect.flatMap(begin(keys, at), (counts) =>
            Effect.matchCauseEffect(answer, {
              onFailure: (cause) => {
                learned!.delete(digest)
                return Effect.failCause(cause)
              },
              onSuccess: (session): Effect.Effect<Session, RateLimited> => {
                const tokenId = session.tokenId
                if (tokenId === undefined || session.session !== null) return Effect.succeed(session) // not a token after all: not counted
                return decide(session, tokenId, counts, digest, headers, at, now) // a digest's lineage and user never change
              }
            })).pipe(Effect.onExit(() => Effect.sync(() => early.delete(digest))))
        }

        return RateLimiter.of({
          admit: (headers) => {
            const answer = resolver.resolve(headers)
            // A refusal decided with no I/O (a malformed token) stays an Exit: nothing to count, no fiber to run.
            if (Exit.isExit(answer) && Exit.isFailure(answer)) return answer
            // The clock the request runs under, as every other check's time.
            return Effect.clockWith((clock) => {
              const now = clock.currentTimeMillisUnsafe()
              const at = RateLimit.windowAt(limits.windowMs, now)
              // In memory with no refusal in this window, no digest is made: the path a caller within its limits takes.
              const byDigest = refusedIn(at.index)
              const digest = byDigest.size === 0 && learned === undefined ? undefined : digestOf(headers)
              const known = digest === undefined ? undefined : byDigest.get(digest)
              if (known !== undefined) return Effect.fail(exceeded(known.met, known.tokenId, at.resetAt, now))
              const keys = digest === undefined ? undefined : learned?.get(digest)
              if (keys !== undefined && !early.has(digest!)) return countAlongside(answer, keys, headers, digest!, at, now)
              return Effect.flatMap(answer, (session) =>
                // A cookie, or Better Auth's bearer() session, is not counted.
                session.tokenId === undefined || session.session !== null ? Effect.succeed(session) : count(session, session.tokenId, headers, digest, at, now))
            })
          }
        })
      })
    )
}
