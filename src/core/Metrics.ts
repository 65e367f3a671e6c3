/**
 * What the operator sees: every Effect `Metric` fusion-auth records, and its one optional
 * span, defined here once (docs/observability.md lists them). An attribute is always a word
 * from a fixed list here or in `Errors.ts` (a credential kind, an outcome, a reason): never a
 * token, a cookie or anything else a caller sent.
 *
 * Metrics are on by default, at a cost of an addition per request and no allocation: each
 * series (a `Metric`, its attributes) keeps its count here and is registered, at its first
 * update, in the `Metric.MetricRegistry` of the context the services were built in
 * (statements: the sending fiber's), which reads it whenever metrics are read: Effect's default
 * registry unless an app provides its own, so an exporter (`@effect/opentelemetry`) sees them.
 * The span is off by default; off, the resolver is not wrapped at all.
 */
import { Cause, Context, Effect, Exit, Fiber, Layer, Metric, type Scope, type Tracer } from "effect"
import type { AuthError, InvalidTokenReason } from "./Errors.ts"
import type { LockOutReason } from "./LockOut.ts"
import type { Session } from "./Session.ts"

export interface ObservabilityOptions {
  /** fusion-auth's `Metric`s (docs/observability.md); `false` records none. Default: on. */
  readonly metrics?: boolean | undefined
  /** A span per resolution, `fusion-auth.resolve`, carrying no secret. Default: off. */
  readonly spans?: boolean | undefined
}

/** Whether metrics and spans are on, read where the services are built (and by the statements' hook, per statement). */
export const CurrentObservability = Context.Reference<{ readonly metrics: boolean; readonly spans: boolean }>(
  "fusion-auth/Observability",
  { defaultValue: () => ({ metrics: true, spans: false }) }
)

/** These options in force: to provide where the services are built, and to the programs that run on them. */
export const layer = (options: ObservabilityOptions = {}): Layer.Layer<never> =>
  Layer.succeed(CurrentObservability, { metrics: options.metrics ?? true, spans: options.spans ?? false })

/** The credential a request presented: an API token, Better Auth's cookie, or a Better Auth session token as Bearer (its `bearer()` plugin). */
export type CredentialKind = "cookie" | "token" | "session-bearer"

/**
 * Why a cookie went to Better Auth's `getSession`: for every cookie, the native path being
 * turned off (`disabled`), not owning the app's setup (`unsupported`: secondary storage, a
 * plugin, hooks…) or finding Better Auth not as it relies on (`differs`); for one request,
 * Better Auth's schema check still pending (`schema-pending`) or a refresh due (`refresh-due`).
 */
export type HandOverReason = "disabled" | "unsupported" | "differs" | "schema-pending" | "refresh-due"

/** The table a request-path statement read. */
export type StatementTable = "token" | "session"

export const RESOLUTIONS = "fusion_auth_resolutions"
export const RESOLUTION_DURATION = "fusion_auth_resolution_duration_ms"
export const HAND_OVERS = "fusion_auth_cookie_hand_overs"
export const STATEMENT_KEYS = "fusion_auth_statement_keys"
export const LAST_USED_PENDING = "fusion_auth_last_used_pending"
export const SPAN = "fusion-auth.resolve"

/** The path takes ~0.03 ms (one lookup, alone, on an idle database) to ~5 ms (a hand-over); the tail is the database's. */
const DURATION_BOUNDARIES = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000]
const KEY_BOUNDARIES = [1, 2, 4, 8, 16, 32, 64]
const KINDS: ReadonlyArray<CredentialKind> = ["cookie", "token", "session-bearer"]
const INVALID_TOKEN: ReadonlyArray<InvalidTokenReason> = ["malformed", "unknown", "revoked", "expired"]
const LOCKED_OUT: ReadonlyArray<LockOutReason> = ["deactivated", "banned"]
const HAND_OVER_REASONS: ReadonlyArray<HandOverReason> = ["disabled", "unsupported", "differs", "schema-pending", "refresh-due"]

const byWord = <K extends string, A>(words: ReadonlyArray<K>, f: (word: K) => A) =>
  Object.fromEntries(words.map((word) => [word, f(word)])) as Record<K, A>
const ignore = () => {}

/**
 * A series kept here and read by the registry when metrics are read (`Metric.registerUnsafe`),
 * registered at its first update: an update is an addition, with no lookup and no allocation.
 */
abstract class Kept<S> {
  private registered = false
  private readonly metric: Metric.Metric<never, S>
  private readonly context: Context.Context<never>
  constructor(metric: Metric.Metric<never, S>, context: Context.Context<never>) {
    this.metric = metric
    this.context = context
  }
  protected touched(): void {
    if (this.registered) return
    this.registered = true
    Metric.registerUnsafe(this.metric, this.context, { get: () => this.state(), update: ignore, modify: ignore })
  }
  abstract state(): S
}

class Tally extends Kept<Metric.CounterState<number>> {
  private count = 0
  add(): void {
    this.count++
    this.touched()
  }
  state() {
    return { count: this.count, incremental: true }
  }
}

/** As `Metric.histogram`: a value counts in the first bucket whose boundary it does not exceed. */
class Buckets extends Kept<Metric.HistogramState> {
  private readonly counts: Uint32Array
  private count = 0
  private sum = 0
  private min = Number.MAX_VALUE
  private max = -Number.MAX_VALUE
  private readonly boundaries: ReadonlyArray<number>
  constructor(metric: Metric.Metric<never, Metric.HistogramState>, context: Context.Context<never>, boundaries: ReadonlyArray<number>) {
    super(metric, context)
    this.boundaries = boundaries
    this.counts = new Uint32Array(boundaries.length + 1)
  }
  observe(value: number): void {
    let i = 0
    while (i < this.boundaries.length && value > this.boundaries[i]!) i++
    this.counts[i]!++
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
    this.touched()
  }
  state() {
    let below = 0
    const buckets = this.boundaries.map((boundary, i): [number, number] => [boundary, below += this.counts[i]!])
    return { buckets, count: this.count, min: this.min, max: this.max, sum: this.sum }
  }
}

/** Every series of one registry, each an Effect `Metric` (name, description, attributes) and its state here. */
const seriesIn = (context: Context.Context<never>) => {
  const tally = (id: string, description: string, attributes: Record<string, string>) =>
    new Tally(Metric.counter(id, { description, incremental: true, attributes }), context)
  const buckets = (id: string, description: string, boundaries: ReadonlyArray<number>, attributes: Record<string, string>) =>
    new Buckets(Metric.histogram(id, { description, boundaries, attributes }), context, boundaries)
  const resolved = (credential: CredentialKind, outcome: string, reason?: string) =>
    tally(RESOLUTIONS, "Resolutions by credential kind and outcome (success, failure, or the error and its reason)", {
      credential,
      outcome,
      ...(reason === undefined ? {} : { reason })
    })
  return {
    resolutions: byWord(KINDS, (kind) => ({
      success: resolved(kind, "success"),
      /** A defect (database down, Better Auth throwing) or an interruption: the request failed, with no answer. */
      failure: resolved(kind, "failure"),
      Anonymous: resolved(kind, "Anonymous"),
      Deactivated: byWord(LOCKED_OUT, (reason) => resolved(kind, "Deactivated", reason)),
      InvalidToken: byWord(INVALID_TOKEN, (reason) => resolved(kind, "InvalidToken", reason)),
      duration: buckets(RESOLUTION_DURATION, "Resolution latency in milliseconds, by credential kind (answers decided with no I/O are not timed)", DURATION_BOUNDARIES, { credential: kind })
    })),
    handOvers: byWord(HAND_OVER_REASONS, (reason) => tally(HAND_OVERS, "Cookies handed to Better Auth's auth.api.getSession, by reason", { reason })),
    keys: byWord<StatementTable, Buckets>(["token", "session"], (table) =>
      buckets(STATEMENT_KEYS, "Keys per request-path statement (1: sent alone; more: lookups in flight at once, batched)", KEY_BOUNDARIES, { table }))
  }
}
type Series = ReturnType<typeof seriesIn>

/** One set of series per registry, however many runtimes record in it: their counts add up, as Effect's own series do. */
const kept = new WeakMap<Metric.MetricRegistry, Series>()
const seriesOf = (context: Context.Context<never>): Series => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let series = kept.get(registry)
  if (series === undefined) kept.set(registry, series = seriesIn(context))
  return series
}

const PENDING = Metric.gauge(LAST_USED_PENDING, { description: "Tokens whose lastUsedAt waits to be written (the backlog)" })

/** The auth error of a failed resolution; `undefined` for a defect or an interruption. */
const authError = (cause: Cause.Cause<AuthError>): AuthError | undefined => {
  for (const reason of cause.reasons) if (Cause.isFailReason(reason)) return reason.error
  return undefined
}

const outcomeOf = (series: Series["resolutions"][CredentialKind], exit: Exit.Exit<unknown, AuthError>): Tally => {
  if (Exit.isSuccess(exit)) return series.success
  const error = authError(exit.cause)
  if (error === undefined) return series.failure
  switch (error._tag) {
    case "Anonymous":
      return series.Anonymous
    case "Deactivated":
      return series.Deactivated[error.reason]
    case "InvalidToken":
      return series.InvalidToken[error.reason]
  }
}

/** A resolution's span: OK for the three answers (each is an answer, not an error), failed for a defect. */
const traced = <A extends Session, E extends AuthError>(kind: CredentialKind, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.flatten(Effect.useSpan(SPAN, { attributes: { "fusion_auth.credential": kind }, kind: "internal" }, (span) =>
    Effect.matchCauseEffect(effect, {
      onSuccess: (session) => {
        annotate(span, "success", undefined, session.user.id)
        return Effect.succeed(Exit.succeed(session))
      },
      onFailure: (cause) => {
        const error = authError(cause)
        if (error === undefined) return Effect.failCause(cause)
        annotate(span, error._tag, error._tag === "Anonymous" ? undefined : error.reason, error._tag === "Deactivated" ? error.userId : undefined)
        return Effect.succeed(Exit.failCause(cause))
      }
    })))

const annotate = (span: Tracer.Span, outcome: string, reason: string | undefined, userId: string | undefined) => {
  span.attribute("fusion_auth.outcome", outcome)
  if (reason !== undefined) span.attribute("fusion_auth.reason", reason)
  if (userId !== undefined) span.attribute("user.id", userId)
}

/**
 * The resolver's observer, from where it is built: `(kind, answer) => answer`, counted and
 * timed and/or in a span as the options say; `undefined` when both are off. An answer that is
 * already an `Exit` (decided with no I/O) is counted, not timed, and stays an `Exit` unless a
 * span must wrap it.
 */
export const resolutionObserver = Effect.map(Effect.context<never>(), (context) => {
  const { metrics, spans } = Context.get(context, CurrentObservability)
  if (!metrics && !spans) return undefined
  const series = metrics ? seriesOf(context).resolutions : undefined
  return <A extends Session, E extends AuthError>(kind: CredentialKind, answer: Effect.Effect<A, E>): Effect.Effect<A, E> => {
    let observed = answer
    if (series !== undefined) {
      const of = series[kind]
      if (Exit.isExit(answer)) outcomeOf(of, answer as Exit.Exit<A, E>).add()
      else {
        const start = performance.now()
        observed = Effect.onExitPrimitive(answer, (exit) => {
          of.duration.observe(performance.now() - start)
          outcomeOf(of, exit).add()
          return undefined
        }, true)
      }
    }
    return spans ? traced(kind, observed) : observed
  }
})

/** Counts a cookie handed to Better Auth, by reason; does nothing with metrics off. */
export const handOvers = Effect.map(Effect.context<never>(), (context): (reason: HandOverReason) => void => {
  if (!Context.get(context, CurrentObservability).metrics) return ignore
  const series = seriesOf(context).handOvers
  return (reason) => series[reason].add()
})

/**
 * `Batch`'s `sent` hook for a table: records each statement's key count in the series of the
 * fiber that sends it (its context's options and registry, looked up again only when the
 * context is not the last one's).
 */
export const statementSent = (table: StatementTable) => {
  let last: Context.Context<never> | undefined
  let keys: Buckets | undefined
  return (count: number): void => {
    const fiber = Fiber.getCurrent()
    if (fiber === undefined) return
    if (fiber.context !== last) {
      last = fiber.context
      keys = Context.get(last, CurrentObservability).metrics ? seriesOf(last).keys[table] : undefined
    }
    keys?.observe(count)
  }
}

/** Reports `size()` as the `lastUsedAt` backlog gauge while the scope lives (read when metrics are read: no cost per note). */
export const backlog = (size: () => number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.context<never>(), (context) => {
    if (!Context.get(context, CurrentObservability).metrics) return Effect.void
    const registration = Metric.registerUnsafe(PENDING, context, { get: () => ({ value: size() }), update: ignore, modify: ignore })
    return Effect.addFinalizer(() => Effect.sync(registration.remove))
  })
