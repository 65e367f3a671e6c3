/**
 * What fusion-auth keeps running in the background, and how it lets a process end.
 *
 * Background work (the embedded folder's heartbeat, the `lastUsedAt` writer, the embedded
 * database's connection pool) sleeps on timers that never keep the process alive by
 * themselves (`unref`): a host that stops a server gracefully and waits for the process to
 * end (Nitro's Node server on SIGTERM, a script that forgets `dispose()`) is not held open by
 * them. What is in flight (a query, a request) still keeps it alive as before.
 *
 * When nothing else is left, Node emits `beforeExit`, and what is still open and registered
 * here is closed then: each runtime of `createAuthSession` not disposed, each `lastUsedAt`
 * writer's pending notes (a runtime of the app's own over `authLayer` too), then each embedded
 * database, cleanly, letting go of its folder, and each pool of connections to a server. One
 * listener for the process.
 */
import { Clock, Duration, Effect, Exit, Layer, Scope } from "effect"

/** Node's longest timer: a longer sleep is made of several. */
const MAX_TIMER_MS = 2 ** 31 - 1

const LiveClock = Clock.Clock.defaultValue().constructor

/** `clock` with sleeps whose timers do not keep the process alive. */
const unreferenced = (clock: Clock.Clock): Clock.Clock => {
  const sleepMillis = (millis: number): Effect.Effect<void> =>
    millis <= 0
      ? Effect.yieldNow
      : !Number.isFinite(millis)
      ? Effect.never
      : Effect.callback<void>((resume) => {
        const timer = setTimeout(() => resume(millis > MAX_TIMER_MS ? sleepMillis(millis - MAX_TIMER_MS) : Effect.void), Math.min(millis, MAX_TIMER_MS))
        timer.unref?.()
        return Effect.sync(() => clearTimeout(timer))
      })
  return Object.assign(Object.create(clock) as Clock.Clock, { sleep: (duration: Duration.Duration) => sleepMillis(Duration.toMillis(duration)) })
}

/** The clock for background work: the live clock's timers unreferenced; any other clock (a test's) as it is. */
const backgroundClock = (clock: Clock.Clock): Clock.Clock => (clock.constructor === LiveClock ? unreferenced(clock) : clock)

/** `effect` run as background work: its sleeps never keep the process alive by themselves. */
export const background = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.clockWith((clock) => Effect.provideService(effect, Clock.Clock, backgroundClock(clock)))

/** `layer` built as background work: what it forks (a pool's idle reaper) sleeps on timers that do not keep the process alive. */
export const backgroundLayer = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.unwrap(Effect.clockWith((clock) => Effect.succeed(Layer.provide(layer, Layer.succeed(Clock.Clock, backgroundClock(clock))))))

/**
 * What is closed when the process has nothing else left to do, in two phases: `"work"` first
 * (runtimes, the `lastUsedAt` writer's pending notes), then `"storage"` (the embedded databases
 * they write to).
 */
export type Phase = "work" | "storage"

const closers: Record<Phase, Set<() => Promise<void>>> = { work: new Set(), storage: new Set() }

const registered = () => closers.work.size + closers.storage.size

let listening = false
const listen = (on: boolean) => {
  if (on === listening) return
  listening = on
  if (on) globalThis.process?.on?.("beforeExit", onBeforeExit)
  else globalThis.process?.off?.("beforeExit", onBeforeExit)
}

const onBeforeExit = async () => {
  listen(false)
  for (const phase of ["work", "storage"] as const) {
    const pending = [...closers[phase]]
    closers[phase].clear()
    // Awaited by the event loop itself (the work keeps it alive); one that fails does not stop the others.
    await Promise.allSettled(pending.map((close) => close()))
  }
  // What a closer registered meanwhile (after its phase had begun) runs when the loop is idle again.
  listen(registered() > 0)
}

/**
 * Runs `close` when the process has nothing else left to do (Node's `beforeExit`), unless it
 * was unregistered first (the returned function: `dispose()` and finalizers call it). Not at
 * `process.exit()` or a signal's default ending, which leave no time for it.
 */
export const closeWhenIdle = (close: () => Promise<void>, phase: Phase): (() => void) => {
  closers[phase].add(close)
  listen(true)
  return () => {
    if (closers[phase].delete(close) && registered() === 0) listen(false)
  }
}

/**
 * `layer` whose resources are also released when the process has nothing else left to do,
 * after the `"work"` phase (so a `lastUsedAt` writer's last notes are written first), unless
 * the scope it was built in closed before. For a pool of connections to a server, which the
 * last notes may have opened again: a runtime never disposed still lets the process end.
 */
export const closedWhenIdle = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.effectContext(Effect.gen(function*() {
    const scope = yield* Scope.make()
    const forget = closeWhenIdle(() => Effect.runPromise(Scope.close(scope, Exit.void)), "storage")
    yield* Effect.addFinalizer(() => Effect.andThen(Effect.sync(forget), Scope.close(scope, Exit.void)))
    return yield* Layer.buildWithScope(layer, scope)
  }))
