/**
 * `lastUsedAt`, written off the request path: a verified token is only noted in memory, and
 * a background fiber writes the notes in one statement per interval.
 *
 * A token is noted only when the `lastUsedAt` its own lookup just read is older than the
 * interval, so a busy token costs one write per interval per process however many requests
 * it serves, and an idle one costs none. The write only ever moves `lastUsedAt` forward.
 * The writer is a loop on a `Schedule` (once per interval) in the layer's scope; pending notes
 * are flushed when the layer closes (or, never closed, when the process has nothing else left
 * to do), and kept for the next interval if a flush fails.
 */
import { Clock, Context, Duration, Effect, Layer, Schedule, Semaphore } from "effect"
import { SqlClient } from "effect/sql"
import * as Metrics from "../core/Metrics.ts"
import { CurrentUserModel } from "../core/UserModel.ts"
import type { TokenTable } from "../core/Tables.ts"
import { CurrentTokenPolicy } from "../core/TokenPolicy.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import { background, closeWhenIdle } from "../runtime/Background.ts"
import * as MemoryTokenTable from "../memory/TokenTable.ts"
import * as SqlTokenTable from "../sql/TokenTable.ts"

/** Past this many distinct tokens waiting, a flush is started early, so memory stays flat. */
const MAX_PENDING = 10_000
/** Flushes at shutdown while rows stay held by other transactions, 10 ms apart. */
const DRAIN_ATTEMPTS = 100

export class LastUsed extends Context.Service<LastUsed, {
  /** Notes a use at `now` (the time the request's checks read), given the `lastUsedAt` the lookup read. No I/O. */
  touch(tokenId: string, lastUsedAt: Date | null, now: number): Effect.Effect<void>
  /** Writes what is pending now (tests and shutdown). */
  readonly flush: Effect.Effect<void>
}>()("fusion-auth/LastUsed") {
  static readonly layer: Layer.Layer<LastUsed, never, SqlClient.SqlClient | CurrentTokenPolicy> = Layer.effect(
    LastUsed,
    Effect.flatMap(Effect.all([SqlClient.SqlClient, CurrentUserModel]), ([sql, model]) => make(SqlTokenTable.make(sql, model).writeLastUsed))
  )

  static readonly layerMemory: Layer.Layer<LastUsed, never, MemoryDatabase | CurrentTokenPolicy> = Layer.effect(
    LastUsed,
    Effect.flatMap(MemoryDatabase, (db) => make(MemoryTokenTable.make(db).writeLastUsed))
  )
}

/** LastUsed over any writer (the layers give the token table's); exported for tests of the writer failing. */
export const make = Effect.fn(function*(write: TokenTable["writeLastUsed"]) {
  const policy = yield* CurrentTokenPolicy
  const interval = Duration.toMillis(policy.lastUsedInterval)
  let pending = new Map<string, number>()
  /** An early flush is started and has not taken the notes yet: one is enough, however many notes come meanwhile. */
  let early = false
  /** One flush at a time, so an explicit `flush` waits for one already writing. */
  const writing = yield* Semaphore.make(1)

  /** Notes of a batch not written (the write failed, or left their rows for later), kept for the next flush. */
  const keep = (batch: ReadonlyMap<string, number>, ids: Iterable<string>) => {
    for (const id of ids) if (!pending.has(id) && pending.size < MAX_PENDING) pending.set(id, batch.get(id)!)
  }
  /** Writes what is pending; answers how many notes it left for later because their rows were held. */
  const flushOnce = writing.withPermit(Effect.suspend((): Effect.Effect<number> => {
    if (pending.size === 0) return Effect.succeed(0)
    const batch = pending
    pending = new Map()
    early = false
    return write([...batch.keys()], [...batch.values()].map((ms) => new Date(ms).toISOString())).pipe(
      Effect.map((held) => {
        keep(batch, held)
        return held.length
      }),
      Effect.catchCause((cause) =>
        // Kept for the next interval's flush, whether or not another use arrives meanwhile.
        Effect.sync(() => keep(batch, batch.keys())).pipe(
          Effect.andThen(Effect.logWarning(`fusion-auth: lastUsedAt not written for ${batch.size} tokens; will retry`, cause)),
          Effect.as(0)
        )
      )
    )
  }))
  const flush = Effect.asVoid(flushOnce)
  /**
   * At shutdown, what is pending written, a note whose row was held tried again every 10 ms of
   * real time (the holder commits in moments; a test's clock does not move then) for about a
   * second, and what is still held then said in a warning.
   */
  const drain = Effect.gen(function*() {
    for (let attempt = 1; ; attempt++) {
      const held = yield* flushOnce
      if (held === 0) return
      if (attempt === DRAIN_ATTEMPTS) {
        return yield* Effect.logWarning(`fusion-auth: lastUsedAt not written for ${held} tokens at shutdown: other transactions held their rows`)
      }
      yield* Effect.provideService(Effect.sleep("10 millis"), Clock.Clock, Clock.Clock.defaultValue())
    }
  })

  yield* Metrics.backlog(() => pending.size)
  // Background work: the writer's timer never keeps the process alive; the finalizer below writes what is left.
  yield* Effect.forkScoped(background(Effect.sleep(policy.lastUsedInterval).pipe(Effect.andThen(Effect.repeat(flush, Schedule.spaced(policy.lastUsedInterval))))))
  // Not closed before the process has nothing else to do (a runtime never disposed): the notes are written then.
  const forget = closeWhenIdle(() => Effect.runPromise(drain), "work")
  yield* Effect.addFinalizer(() => Effect.andThen(Effect.sync(forget), drain))

  return LastUsed.of({
    touch: (tokenId, lastUsedAt, now) =>
      Effect.suspend(() => {
        if (lastUsedAt !== null && now - lastUsedAt.getTime() < interval) return Effect.void
        if (pending.has(tokenId)) return Effect.void
        pending.set(tokenId, now)
        if (pending.size < MAX_PENDING || early) return Effect.void
        early = true
        return Effect.asVoid(Effect.forkDetach(flush))
      }),
    flush
  })
})
