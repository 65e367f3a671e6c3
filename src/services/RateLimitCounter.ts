/**
 * Where rate-limit counts live: in this process's memory, or in Better Auth's
 * `secondaryStorage`, whose `increment` adds one and sets the expiry in one atomic round
 * trip, so every instance of the app counts against the same number. Neither writes to the
 * database.
 *
 * A count's key names its window (`RateLimit.windowAt`), so a count never carries over and
 * the storage's expiry only clears it away.
 */
import { Clock, Context, Data, Duration, Effect, Exit, Layer } from "effect"
import type { Window } from "../core/RateLimit.ts"
import { CurrentTokenPolicy } from "../core/TokenPolicy.ts"

/** The shared storage failed, answered something that is not a count, or took too long. */
export class CounterUnavailable extends Data.TaggedError("CounterUnavailable")<{ readonly cause: unknown }> {}

/**
 * Why this `secondaryStorage` cannot share a count, or `undefined` when it can (or there is
 * none): one written for an earlier Better Auth lacks `increment`, and counting per instance
 * instead would multiply the limit by the instances.
 */
export const storageProblem = (secondaryStorage: unknown): string | undefined =>
  secondaryStorage == null || typeof (secondaryStorage as Partial<IncrementingStorage>).increment === "function"
    ? undefined
    : "fusion-auth: tokens.rateLimit needs secondaryStorage.increment (Better Auth's SecondaryStorage) to share counts across instances"

/** The one method of Better Auth's `secondaryStorage` a shared count needs. */
export interface IncrementingStorage {
  /** Adds one to `key` (created at 1 with `ttl` seconds to live) and answers the new value. */
  readonly increment: (key: string, ttl: number) => unknown
}

export class RateLimitCounter extends Context.Service<RateLimitCounter, {
  /** Adds one to `key`'s count in `window` and answers the count, this one included; a shared count may fail. */
  increment(key: string, window: Window): Effect.Effect<number, CounterUnavailable>
  /**
   * `increment` started at once, its answer waited for later: the effect it gives back waits
   * for the count (given up after the storage's timeout, counted from the wait), and what
   * arrives meanwhile is kept, so a count that is back before it is asked for costs no wait.
   * Optional for a counter of an app's own: then `increment`, waited for at once.
   */
  readonly begin?: (key: string, window: Window) => Effect.Effect<Effect.Effect<number, CounterUnavailable>>
  /** True when a count takes a round trip (a shared storage): worth starting before it is needed. */
  readonly remote?: boolean
  /**
   * `increment` done at once, for a counter that never waits and never fails (in memory): no
   * effect to run per request. When present (and the counter is not `remote`) it is used in
   * place of `increment`, so a counter that wraps another's `increment` must leave it out or
   * wrap it too. A throw is a defect, not a `CounterUnavailable`.
   */
  readonly incrementNow?: (key: string, window: Window) => number
}>()("fusion-auth/RateLimitCounter") {
  /** In this process: exact, and one instance's alone. */
  static readonly layerMemory: Layer.Layer<RateLimitCounter> = Layer.sync(RateLimitCounter, () => {
    // The counts of each window by key. A request whose clock was read just before an edge is
    // answered just after it: its window's counts are kept until the next one's next begins.
    const windows = new Map<number, Map<string, number>>()
    let latest = -Infinity
    const incrementNow = (key: string, window: Window): number => {
      if (window.index > latest) {
        latest = window.index
        for (const index of windows.keys()) if (index < latest - 1) windows.delete(index)
      }
      let counts = windows.get(window.index)
      if (counts === undefined) windows.set(window.index, counts = new Map())
      const count = (counts.get(key) ?? 0) + 1
      counts.set(key, count)
      return count
    }
    return RateLimitCounter.of({ increment: (key, window) => Effect.sync(() => incrementNow(key, window)), incrementNow })
  })

  /**
   * In Better Auth's `secondaryStorage` (Redis, say): one `increment` per count, shared by every
   * instance, waited for at most `timeout`. The key lives until its window ends, and a second more.
   *
   * A wait is given up by one fiber for all of them (`overdue`), not a timer and a race each:
   * every wait has the same timeout, so they fall due in the order they began; that fiber gives
   * up all that are due, then sleeps until the oldest still waiting is due, or, with none
   * waiting, until one begins.
   */
  static readonly layerStorage = (storage: IncrementingStorage, timeout: Duration.Input = "500 millis"): Layer.Layer<RateLimitCounter> =>
    Layer.effect(
      RateLimitCounter,
      Effect.gen(function*() {
        const millis = Duration.toMillis(Duration.fromInputUnsafe(timeout))
        // One clock for every due and the fiber that keeps them, and its monotonic time: a wall
        // clock set back (NTP, say) must not hold a wait past its timeout.
        const clock = yield* Clock.Clock
        const monotonicNow = () => Number(clock.monotonicTimeNanosUnsafe()) / 1e6
        const tookTooLong = Exit.fail(new CounterUnavailable({ cause: "secondaryStorage.increment took too long" }))
        /** A request waiting for its count: given up at `due` unless its count came first. */
        interface Wait {
          readonly due: number
          settle: ((answer: Exit.Exit<number, CounterUnavailable>) => void) | undefined
        }
        // Oldest first, from `head`.
        let waits: Array<Wait> = []
        let head = 0
        let wake: (() => void) | undefined
        let closed = false
        /** Every wait due by `at` given up (and the settled ones ahead dropped); then the next due's distance, or none waiting. */
        const giveUpDue = (at: number): number | undefined => {
          while (head < waits.length) {
            const wait = waits[head]!
            // Within a microsecond counts as due: a float of monotonic nanoseconds near today's may fall a hair short.
            if (wait.settle !== undefined && wait.due > at + 1e-3) break
            head++
            wait.settle?.(tookTooLong)
          }
          if (head === waits.length) {
            waits = []
            head = 0
            return undefined
          }
          if (head > 1024 && head * 2 > waits.length) {
            waits = waits.slice(head)
            head = 0
          }
          return waits[head]!.due - at
        }
        const overdue = Effect.suspend(() => {
          const next = giveUpDue(monotonicNow())
          if (next !== undefined) return clock.sleep(Duration.millis(next))
          return Effect.callback<void>((resume) => {
            if (head < waits.length) return resume(Effect.void) // one began meanwhile
            wake = () => resume(Effect.void)
          })
        })
        yield* Effect.forkScoped(Effect.forever(overdue))
        // Closed (the runtime disposed): what still waits is given up now, and a later wait at once.
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            closed = true
            giveUpDue(Infinity)
          })
        )

        const begin = (key: string, window: Window) =>
          Effect.sync((): Effect.Effect<number, CounterUnavailable> => {
            const now = clock.currentTimeMillisUnsafe()
            // Settled as soon as the storage answers, whether or not anyone waits yet: a failure is kept, never unhandled.
            let answer: Exit.Exit<number, CounterUnavailable> | undefined
            let waiting: Array<Wait> | undefined
            new Promise((resolve) => resolve(storage.increment(`fusion-auth:rate:${key}:${window.index}`, Math.ceil((window.resetAt - now) / 1000) + 1)))
              .then(
                (value) => {
                  const count = Number(value)
                  answer = Number.isSafeInteger(count) && count > 0
                    ? Exit.succeed(count)
                    : Exit.fail(new CounterUnavailable({ cause: "secondaryStorage.increment answered no count" }))
                },
                (cause) => {
                  answer = Exit.fail(new CounterUnavailable({ cause }))
                }
              )
              .then(() => waiting?.forEach((wait) => wait.settle?.(answer!)))
            const wait = Effect.callback<number, CounterUnavailable>((resume) => {
              // Answered after `answer` was last read (the fiber may yield in between): no wait after all.
              if (answer !== undefined) return resume(answer)
              if (closed) return resume(tookTooLong)
              const wait: Wait = {
                due: monotonicNow() + millis,
                settle: (exit) => {
                  wait.settle = undefined
                  resume(exit)
                }
              }
              if (waiting === undefined) waiting = [wait]
              else waiting.push(wait) // the same count waited for twice
              waits.push(wait)
              if (wake !== undefined) {
                const resumeOverdue = wake
                wake = undefined
                resumeOverdue()
              }
              // Interrupted: nothing left to settle.
              return Effect.sync(() => {
                wait.settle = undefined
              })
            })
            return Effect.suspend(() => answer ?? wait)
          })
        return RateLimitCounter.of({ increment: (key, window) => Effect.flatten(begin(key, window)), begin, remote: true })
      })
    )

  /**
   * Shared through Better Auth's `secondaryStorage` when the app has one, in memory otherwise.
   * With limits on, a storage that cannot share a count (`storageProblem`) fails the layer
   * rather than count per instance; with them off, nothing is counted and nothing is asked of it.
   */
  static readonly layerFor = (secondaryStorage: unknown): Layer.Layer<RateLimitCounter, never, CurrentTokenPolicy> =>
    Layer.unwrap(Effect.gen(function*() {
      const policy = yield* CurrentTokenPolicy
      if (policy.rateLimit === undefined || secondaryStorage == null) return RateLimitCounter.layerMemory
      const problem = storageProblem(secondaryStorage)
      return problem === undefined
        ? RateLimitCounter.layerStorage(secondaryStorage as IncrementingStorage, policy.rateLimit.storageTimeout)
        : Layer.effect(RateLimitCounter, Effect.die(new Error(problem)))
    }))
}
