/**
 * What the operator sees: every Effect `Metric` fusion-auth records, and its one optional
 * span, defined here once (docs/observability.md lists them). An attribute is always a word
 * from a fixed list here or in `Errors.ts` (a credential kind, an outcome, a reason): never a
 * token, a cookie or anything else a caller sent.
 *
 * Metrics are on by default. Each series is an Effect `Metric` with its fixed attributes, made
 * once here; its state is Effect's own, kept in the `Metric.MetricRegistry` of the context the
 * services (and the tables) were built in: Effect's default registry unless an app provides its
 * own, so an exporter (`@effect/opentelemetry`) sees them. A request updates a histogram with
 * `updateUnsafe(input, thatContext)` (the series' cached key, the registry looked up, no Effect
 * run and no allocation), and its resolution count by an addition: those counts are plain
 * numbers the registry reads when metrics are read (`countOf`), since every request, even one
 * refused with no I/O, makes one (docs/observability.md: what it costs).
 * The span is off by default; off, the resolver is not wrapped at all.
 */
import { Cause, Context, Effect, Exit, Layer, Metric, type Scope, type Tracer } from "effect"
import type { AuthError, InvalidTokenReason } from "./Errors.ts"
import type { LockOutReason } from "./LockOut.ts"
import type { Session } from "./Session.ts"

export interface ObservabilityOptions {
  /** fusion-auth's `Metric`s (docs/observability.md); `false` records none. Default: on. */
  readonly metrics?: boolean | undefined
  /** A span per resolution, `fusion-auth.resolve`, carrying no secret. Default: off. */
  readonly spans?: boolean | undefined
}

/** Whether metrics and spans are on, read where the services and the tables are built. */
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
const KEY_BOUNDARIES = [1, 2, 4, 8, 16]
const KINDS: ReadonlyArray<CredentialKind> = ["cookie", "token", "session-bearer"]
const INVALID_TOKEN: ReadonlyArray<InvalidTokenReason> = ["malformed", "unknown", "revoked", "expired", "removed"]
const LOCKED_OUT: ReadonlyArray<LockOutReason> = ["deactivated", "banned"]
const HAND_OVER_REASONS: ReadonlyArray<HandOverReason> = ["disabled", "unsupported", "differs", "schema-pending", "refresh-due"]

const byWord = <K extends string, A>(words: ReadonlyArray<K>, f: (word: K) => A) =>
  Object.fromEntries(words.map((word) => [word, f(word)])) as Record<K, A>
const ignore = () => {}

type Counter = Metric.Counter<number>
type Histogram = Metric.Histogram<number>

const counter = (id: string, description: string, attributes: Record<string, string>): Counter =>
  Metric.counter(id, { description, incremental: true, attributes })
const resolved = (credential: CredentialKind, outcome: string, reason?: string) =>
  counter(RESOLUTIONS, "Resolutions by credential kind and outcome (success, failure, or the error and its reason)", {
    credential,
    outcome,
    ...(reason === undefined ? {} : { reason })
  })

/** Every series, each an Effect `Metric` with its fixed attributes, made once; its state is in the registry of the context that updates it. */
const RESOLVED = byWord(KINDS, (kind) => ({
  success: resolved(kind, "success"),
  /** A defect (database down, Better Auth throwing) or an interruption: the request failed, with no answer. */
  failure: resolved(kind, "failure"),
  Anonymous: resolved(kind, "Anonymous"),
  Deactivated: byWord(LOCKED_OUT, (reason) => resolved(kind, "Deactivated", reason)),
  InvalidToken: byWord(INVALID_TOKEN, (reason) => resolved(kind, "InvalidToken", reason)),
  duration: Metric.histogram(RESOLUTION_DURATION, {
    description: "Resolution latency in milliseconds, by credential kind (answers decided with no I/O are not timed)",
    boundaries: DURATION_BOUNDARIES,
    attributes: { credential: kind }
  })
}))
const HANDED_OVER = byWord(HAND_OVER_REASONS, (reason) => counter(HAND_OVERS, "Cookies handed to Better Auth's auth.api.getSession, by reason", { reason }))
const KEYS = byWord<StatementTable, Histogram>(["token", "session"], (table) =>
  Metric.histogram(STATEMENT_KEYS, {
    description: "Keys per request-path statement (1: sent alone; more: lookups in flight at once, batched)",
    boundaries: KEY_BOUNDARIES,
    attributes: { table }
  }))

const PENDING = Metric.gauge(LAST_USED_PENDING, { description: "Tokens whose lastUsedAt waits to be written (the backlog)" })

/** The auth error of a failed resolution; `undefined` for a defect or an interruption. */
const authError = (cause: Cause.Cause<AuthError>): AuthError | undefined => {
  for (const reason of cause.reasons) if (Cause.isFailReason(reason)) return reason.error
  return undefined
}

/** A counter's count in one registry: a plain number. */
interface Count {
  n: number
}
const counts = new WeakMap<Metric.MetricRegistry, Map<Counter, Count>>()

/**
 * `metric`'s count in `context`'s registry, which reads it whenever metrics are read (Effect's
 * `Metric.registerUnsafe`): a resolution then costs an addition, which even the answers decided
 * with no I/O (well under a microsecond) can carry. One count per registry, however many
 * runtimes add to it, as Effect's own series.
 */
const countOf = (metric: Counter, context: Context.Context<never>): Count => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let byMetric = counts.get(registry)
  if (byMetric === undefined) counts.set(registry, byMetric = new Map())
  let count = byMetric.get(metric)
  if (count === undefined) {
    const kept: Count = { n: 0 }
    byMetric.set(metric, count = kept)
    Metric.registerUnsafe(metric, context, { get: () => ({ count: kept.n, incremental: true }), update: ignore, modify: ignore })
  }
  return count
}

/** The resolution counts of one kind in one registry. */
const countsOf = (kind: CredentialKind, context: Context.Context<never>) => {
  const series = RESOLVED[kind]
  return {
    success: countOf(series.success, context),
    failure: countOf(series.failure, context),
    Anonymous: countOf(series.Anonymous, context),
    Deactivated: byWord(LOCKED_OUT, (reason) => countOf(series.Deactivated[reason], context)),
    InvalidToken: byWord(INVALID_TOKEN, (reason) => countOf(series.InvalidToken[reason], context))
  }
}

const outcomeOf = (series: ReturnType<typeof countsOf>, exit: Exit.Exit<unknown, AuthError>): Count => {
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
  const resolved = metrics ? byWord(KINDS, (kind) => countsOf(kind, context)) : undefined
  return <A extends Session, E extends AuthError>(kind: CredentialKind, answer: Effect.Effect<A, E>): Effect.Effect<A, E> => {
    let observed = answer
    if (resolved !== undefined) {
      const of = resolved[kind]
      if (Exit.isExit(answer)) outcomeOf(of, answer as Exit.Exit<A, E>).n++
      else {
        const start = performance.now()
        const duration = RESOLVED[kind].duration
        observed = Effect.onExitPrimitive(answer, (exit) => {
          duration.updateUnsafe(performance.now() - start, context)
          outcomeOf(of, exit).n++
          return undefined
        }, true)
      }
    }
    return spans ? traced(kind, observed) : observed
  }
})

/** Counts a cookie handed to Better Auth, by reason; does nothing with metrics off. */
export const handOvers = Effect.map(Effect.context<never>(), (context): (reason: HandOverReason) => void =>
  Context.get(context, CurrentObservability).metrics ? (reason) => HANDED_OVER[reason].updateUnsafe(1, context) : ignore)

/** `Batch`'s `sent` hook for a table, from the layer building it: each statement's key count in that context's registry; does nothing with metrics off. */
export const statementSent = (table: StatementTable): Effect.Effect<(keys: number) => void> =>
  Effect.map(Effect.context<never>(), (context) => {
    if (!Context.get(context, CurrentObservability).metrics) return ignore
    const keys = KEYS[table]
    return (count) => keys.updateUnsafe(count, context)
  })

/** Reports `size()` as the `lastUsedAt` backlog gauge while the scope lives (read when metrics are read: no cost per note). */
export const backlog = (size: () => number): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.context<never>(), (context) => {
    if (!Context.get(context, CurrentObservability).metrics) return Effect.void
    const registration = Metric.registerUnsafe(PENDING, context, { get: () => ({ value: size() }), update: ignore, modify: ignore })
    return Effect.addFinalizer(() => Effect.sync(registration.remove))
  })
