/**
 * Where rate-limit counts live: in this process's memory, or in Better Auth's
 * `secondaryStorage`, whose `increment` adds one and sets the expiry in one atomic round
 * trip, so every instance of the app counts against the same number. Neither writes to the
 * database.
 *
 * A count's key names its window (`RateLimit.windowAt`), so a count never carries over and
 * the storage's expiry only clears it away.
 */
import { Context, Data, Effect, Layer } from "effect"
import type { Window } from "../core/RateLimit.ts"
import { CurrentTokenPolicy } from "../core/TokenPolicy.ts"

/** The shared storage failed, answered something that is not a count, or took too long. */
export class CounterUnavailable extends Data.TaggedError("CounterUnavailable")<{ readonly cause: unknown }> {}

/** The one method of Better Auth's `secondaryStorage` a shared count needs. */
export interface IncrementingStorage {
  /** Adds one to `key` (created at 1 with `ttl` seconds to live) and answers the new value. */
  readonly increment: (key: string, ttl: number) => unknown
}

/** Counts kept in memory are swept of ended windows once there are this many more than after the last sweep. */
const SWEEP_EVERY = 10_000

export class RateLimitCounter extends Context.Service<RateLimitCounter, {
  /** Adds one to `key`'s count in `window` (`windowMs` long) and answers the count, this one included. */
  increment(key: string, window: Window, windowMs: number): Effect.Effect<number, CounterUnavailable>
}>()("fusion-auth/RateLimitCounter") {
  /** In this process: exact, and one instance's alone. */
  static readonly layerMemory: Layer.Layer<RateLimitCounter> = Layer.sync(RateLimitCounter, () => {
    const counts = new Map<string, { index: number; resetAt: number; count: number }>()
    let sweepAt = SWEEP_EVERY
    const sweep = (now: number) => {
      for (const [key, entry] of counts) if (entry.resetAt <= now) counts.delete(key)
      sweepAt = counts.size + SWEEP_EVERY
    }
    return RateLimitCounter.of({
      increment: (key, window) =>
        Effect.sync(() => {
          const entry = counts.get(key)
          if (entry !== undefined && entry.index === window.index) return ++entry.count
          if (entry === undefined && counts.size >= sweepAt) sweep(window.resetAt - 1)
          counts.set(key, { index: window.index, resetAt: window.resetAt, count: 1 })
          return 1
        })
    })
  })

  /** In Better Auth's `secondaryStorage` (Redis, say): one `increment` per count, shared by every instance. */
  static readonly layerStorage = (storage: IncrementingStorage): Layer.Layer<RateLimitCounter> =>
    Layer.succeed(
      RateLimitCounter,
      RateLimitCounter.of({
        increment: (key, window, windowMs) =>
          Effect.tryPromise({
            try: async () => Number(await storage.increment(`fusion-auth:rate:${key}:${window.index}`, windowMs / 1000 + 1)),
            catch: (cause) => new CounterUnavailable({ cause })
          }).pipe(
            Effect.flatMap((count) =>
              Number.isSafeInteger(count) && count > 0
                ? Effect.succeed(count)
                : Effect.fail(new CounterUnavailable({ cause: "secondaryStorage.increment answered no count" }))
            )
          )
      })
    )

  /**
   * Shared through Better Auth's `secondaryStorage` when the app has one, in memory otherwise.
   * A storage without `increment` (written for an earlier Better Auth) cannot share a count:
   * with limits on, refused at start-up rather than counted per instance, which would
   * multiply the limit; with them off, nothing is counted and nothing is asked of it.
   */
  static readonly layerFor = (secondaryStorage: unknown): Layer.Layer<RateLimitCounter, never, CurrentTokenPolicy> =>
    Layer.unwrap(Effect.gen(function*() {
      const policy = yield* CurrentTokenPolicy
      if (policy.rateLimit === undefined || secondaryStorage === undefined || secondaryStorage === null) return RateLimitCounter.layerMemory
      const increment = (secondaryStorage as Partial<IncrementingStorage>).increment
      return typeof increment === "function"
        ? RateLimitCounter.layerStorage(secondaryStorage as IncrementingStorage)
        : Layer.effect(
          RateLimitCounter,
          Effect.die(new Error("fusion-auth: tokens.rateLimit needs secondaryStorage.increment (Better Auth's SecondaryStorage) to share counts across instances"))
        )
    }))
}
