/**
 * The cookie path. Better Auth's signed `session_token` cookie is verified in-process (its
 * own cookie name and secret, from `await auth.$context`), then ONE statement reads the
 * session joined with its user: the database's truth, whatever the cookie cache says.
 * What the native path does not own (see `core/NativeCookie.ts`) is handed to
 * `auth.api.getSession` with the cookie cache disabled.
 *
 * The clock is Effect's `Clock`, read after the statement returns, as Better Auth reads
 * `new Date()` after its lookup: a session is over when `expiresAt < now`.
 */
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { isAPIError } from "better-auth/api"
import { parseSessionOutput, parseUserOutput } from "better-auth/db"
import { InvalidToken } from "../core/Errors.ts"
import { lockOut, type LockOutFields, type LockOutProbe, PROBE } from "../core/LockOut.ts"
import * as Metrics from "../core/Metrics.ts"
import { decide, type Decision, type Plan, refreshDue } from "../core/NativeCookie.ts"
import { PLUGIN_ID } from "../core/Session.ts"
import type { SessionRow, User } from "../core/Session.ts"
import * as SignedCookie from "../core/SignedCookie.ts"
import * as SessionTable from "../sql/SessionTable.ts"
import { probe } from "./NativeProbe.ts"
import { hiddenBy } from "../core/UserModel.ts"

/** The part of a Better Auth instance fusion-auth uses. `typeof auth` satisfies it. */
export interface BetterAuthLike {
  readonly api: {
    getSession(context: {
      headers: Headers
      query?: { disableCookieCache?: boolean }
    }): Promise<{ user: object; session: object } | null>
  }
  readonly options: {
    readonly session?: {
      readonly cookieCache?: { readonly enabled?: boolean | undefined } | undefined
      readonly [option: string]: unknown
    } | undefined
    readonly secondaryStorage?: unknown
    readonly database?: unknown
    readonly plugins?: ReadonlyArray<{ readonly id: string }> | undefined
  }
  /** Better Auth's context (cookie names, secret, tables); without it every cookie is handed over. */
  readonly $context?: PromiseLike<unknown> | undefined
}

/**
 * A cookie session, and the user's lock-out fields when they were read from the database on
 * this request by fusion-auth itself (its own statement, or the plugin's primary-key read
 * during a hand-over). Without them, the choke point reads them by primary key.
 */
export interface CookieSession {
  readonly user: User
  readonly session: SessionRow
  readonly lock?: LockOutFields | undefined
  /**
   * The admin plugin's `impersonatedBy` of the session row Better Auth read during a hand-over
   * (`null`: none), which the answer (a `customSession`) may have dropped; `undefined`: read
   * with the session itself.
   */
  readonly impersonatedBy?: string | null | undefined
}

export class CookieSource extends Context.Service<CookieSource, {
  /** The session for these headers; `None` when there is none. Throwing is a defect. */
  get(headers: Headers): Effect.Effect<Option.Option<CookieSession>>
  /**
   * With Better Auth's `bearer()` plugin, the session whose token these headers present as
   * `Authorization: Bearer <value>`: read as the plugin reads it, then resolved as that
   * session's cookie (natively, or handed over with the same headers). Fails `malformed` for
   * a value the plugin would not take; `undefined` when the plugin is not installed.
   */
  readonly bearer: ((headers: Headers, value: string) => Effect.Effect<Option.Option<CookieSession>, InvalidToken>) | undefined
}>()("fusion-auth/CookieSource") {
  static readonly layer = (auth: BetterAuthLike, options: CookieOptions = {}): Layer.Layer<CookieSource, never, SqlClient.SqlClient> =>
    layerFor(auth, { ...options, version: (context) => (context as { version?: unknown } | undefined)?.version })
}

export interface CookieOptions {
  /**
   * `false` sends every cookie to `auth.api.getSession`, as if the native path did not exist
   * (two or more statements per request instead of one). Default: native where it may answer.
   */
  readonly native?: boolean | undefined
}

/**
 * The layer, with where the Better Auth version comes from (its context's own; tests give
 * another) and what checks Better Auth's behaviour (`NativeProbe`; tests stub it).
 */
export const layerFor = (
  auth: BetterAuthLike,
  config: CookieOptions & {
    readonly version: (context: unknown) => unknown
    readonly probe?: ((plan: Plan, options: Record<string, any>) => Promise<string | undefined>) | undefined
  }
): Layer.Layer<CookieSource, never, SqlClient.SqlClient> =>
  Layer.effect(CookieSource, Effect.gen(function*() {
    assertPlugin(auth)
    const sql = yield* SqlClient.SqlClient
    const context = auth.$context === undefined ? undefined : yield* Effect.promise(() => Promise.resolve(auth.$context))
    const reported = config.version(context)
    const options: Record<string, any> = (context as { options?: Record<string, any> } | undefined)?.options ?? auth.options
    const decision = yield* checked(
      config.native === false
        ? { _tag: "HandOver", reason: "the native cookie path is turned off (native: false)", differs: false }
        : decide(context, typeof reported === "string" ? reported : undefined),
      options,
      config.probe ?? probe
    )
    if (decision._tag === "HandOver") {
      const line = `fusion-auth: ${decision.reason}; the native cookie path is off and every cookie goes to auth.api.getSession`
      yield* decision.differs ? Effect.logWarning(line) : Effect.logDebug(line)
    }
    const handOver = (headers: Headers) => {
      const probe: LockOutProbe = {}
      return Effect.tryPromise({
        // Better Auth spreads the call's own keys into the context its hooks see: the probe rides along.
        try: () =>
          auth.api.getSession(Object.assign({ headers, query: { disableCookieCache: true } }, { [PROBE]: probe }))
            .catch((error: unknown) => {
              // Better Auth's own refusal (its 401 when a refresh races a sign-out, a plugin hook's 403): no session.
              if (refusal(error)) return null
              throw error
            }),
        catch: (cause) => new BetterAuthFailure({ cause })
      }).pipe(
        Effect.flatMap((found) => {
          const answer = found as { user: User; session: SessionRow } | null
          if (answer === null) return Effect.succeedNone
          if (typeof answer.user?.id !== "string") {
            return Effect.fail(new BetterAuthFailure({ cause: "getSession answered a session without user.id" }))
          }
          // The answer may be narrowed (customSession): the lock-out comes from the probe, for the user it read.
          const read = probe.userId === answer.user.id
          return Effect.succeedSome<CookieSession>({
            user: answer.user,
            session: answer.session,
            lock: read ? probe.fields : undefined,
            impersonatedBy: read ? probe.impersonatedBy : undefined
          })
        }),
        Effect.orDie,
        Effect.withSpan("CookieSource.get")
      )
    }
    const handedOver = yield* Metrics.handOvers
    const sent = yield* Metrics.statementSent("session")
    const path = decision._tag === "Native"
      ? native(decision.plan, SessionTable.make(sql, decision.plan, outputOf(decision.plan, options), sent), schemaCheck(context), (reason, headers) => {
        handedOver(reason)
        return handOver(headers)
      })
      : everyCookie(config.native === false ? "disabled" : decision.differs ? "differs" : "unsupported", handedOver, handOver)
    return CookieSource.of({ get: path.get, bearer: bearerOf(context, path.byToken) })
  }))

const MALFORMED = Effect.fail(new InvalidToken({ reason: "malformed" }))

/** The path when the native one is off: every cookie handed over, counted by why. */
const everyCookie = (
  reason: Metrics.HandOverReason,
  handedOver: (reason: Metrics.HandOverReason) => void,
  handOver: (headers: Headers) => Effect.Effect<Option.Option<CookieSession>>
) => {
  const get = (headers: Headers) => Effect.suspend(() => (handedOver(reason), handOver(headers)))
  return { get, byToken: (_token: string, headers: Headers) => get(headers) }
}

/**
 * `CookieSource.bearer`, from Better Auth's context (its `bearer()` plugin's options and the
 * secret): the session token read as the plugin reads it, then the session with that token,
 * natively or handed over with the same headers (the plugin makes them that cookie).
 */
const bearerOf = (
  context: unknown,
  byToken: (token: string, headers: Headers) => Effect.Effect<Option.Option<CookieSession>>
) => {
  const ctx = (context ?? {}) as { options?: { plugins?: ReadonlyArray<{ id?: unknown; options?: { requireSignature?: unknown } }> }; secret?: unknown }
  const plugin = ctx.options?.plugins?.find((p) => p.id === "bearer")
  const secret = ctx.secret
  if (plugin === undefined || typeof secret !== "string") return undefined
  const requireSignature = plugin.options?.requireSignature === true
  return (headers: Headers, value: string): Effect.Effect<Option.Option<CookieSession>, InvalidToken> => {
    const token = SignedCookie.bearerSessionToken(value, secret, requireSignature)
    return token === undefined ? MALFORMED : byToken(token, headers)
  }
}

/** A native decision once Better Auth's behaviour is checked: what differs is handed over. A probe that throws differs too. */
const checked = (
  decision: Decision,
  options: Record<string, any>,
  check: (plan: Plan, options: Record<string, any>) => Promise<string | undefined>
): Effect.Effect<Decision> =>
  decision._tag === "HandOver"
    ? Effect.succeed(decision)
    : Effect.promise(() => check(decision.plan, options).catch((error: unknown) => `the start-up check failed (${String(error)})`)).pipe(
      Effect.map((reason): Decision => (reason === undefined ? decision : { _tag: "HandOver", reason, differs: true }))
    )

/** The fields Better Auth's own output rule (`parseUserOutput`, `parseSessionOutput`) leaves out, asked once. */
const outputOf = (plan: Plan, options: object): SessionTable.Output => ({
  hiddenSession: hiddenBy(parseSessionOutput, options, plan.sessionColumns.map((c) => c.key)),
  hiddenUser: hiddenBy(parseUserOutput, options, plan.userColumns.map((c) => c.key))
})

const native = (
  plan: Plan,
  table: ReturnType<typeof SessionTable.make>,
  schemaPending: () => boolean,
  handOver: (reason: Metrics.HandOverReason, headers: Headers) => Effect.Effect<Option.Option<CookieSession>>
) => {
  const secret = Redacted.value(plan.secret)
  const sessionToken = SignedCookie.reader(plan.cookieName, secret)
  /** The session with this (verified) token; `headers` go to Better Auth when it must answer. */
  const byToken = Effect.fnUntraced(function*(token: string, headers: Headers) {
    // Better Auth checks its schema before each call; until it has a clean verdict, it decides.
    if (schemaPending()) return yield* handOver("schema-pending", headers)
    // Untraced, as the token path: a span per request costs more than the decision (the SQL keeps its own).
    const found = yield* table.find(token)
    if (found === undefined) return Option.none()
    const now = yield* Clock.currentTimeMillis
    if (found.expiresAt.getTime() < now) return Option.none()
    // A locked-out user's session is refused from this row: never handed over to be refreshed (a write).
    const refresh = lockOut(found.lock, now) === undefined &&
      refreshDue(plan, found.expiresAt, now, () => SignedCookie.read(headers.get("cookie"), plan.dontRememberName, secret) !== undefined)
    if (refresh) return yield* handOver("refresh-due", headers)
    return Option.some<CookieSession>({ user: found.user as User, session: found.session as SessionRow, lock: found.lock })
  })
  const get = (headers: Headers): Effect.Effect<Option.Option<CookieSession>> => {
    const header = headers.get("cookie")
    const token = header === null ? undefined : sessionToken(header)
    return token === undefined ? Effect.succeedNone : byToken(token, headers)
  }
  return { get, byToken }
}

/** True while Better Auth's own schema check (later 1.7 patches) has no clean verdict: pending, or failing. */
const schemaCheck = (context: unknown) => (): boolean => {
  const check = (context as { checkSchema?: () => PromiseLike<unknown> | undefined } | undefined)?.checkSchema
  const pending = typeof check === "function" ? check.call(context) : undefined
  if (pending === undefined) return false
  pending.then(undefined, () => undefined) // Better Auth rethrows it itself on the hand-over
  return true
}

/** A 401 or 403 `APIError`: Better Auth refusing the session, not failing. */
const refusal = (error: unknown): boolean =>
  isAPIError(error) && [401, 403].includes((error as { readonly statusCode?: unknown }).statusCode as number)

/** Better Auth threw anything else: an infrastructure failure, surfaced as a defect that fails the request. */
export class BetterAuthFailure extends Error {
  override readonly name = "BetterAuthFailure"
  constructor(options: { readonly cause: unknown }) {
    super("Better Auth failed while reading the session", options)
  }
}

export const assertPlugin = (auth: BetterAuthLike) => {
  if (!auth.options.plugins?.some((plugin) => plugin.id === PLUGIN_ID)) {
    throw new Error(
      `fusion-auth: add fusionAuth() to the plugins of betterAuth({...}); without it Better Auth does not read "deactivatedAt" or "deprovisionedAt" and deactivated users would keep their cookies`
    )
  }
}
