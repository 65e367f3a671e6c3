/**
 * The thin runtime: `getSession` / `requireSession` and the token and user operations as
 * promises, over one `ManagedRuntime` of the live services.
 *
 * The three authentication errors become `null` (getSession), a thrown 302 to the login page
 * or, for a caller that presented a Bearer token, a thrown 401 (requireSession). Anything
 * else (database down, Better Auth throwing) is thrown as is: a 5xx, never anonymous.
 */
import { Cause, type Config, Context, Effect, Exit, Layer, Logger, ManagedRuntime, Option, Redacted } from "effect"
import { closeWhenIdle } from "./Background.ts"
import { migrate } from "./migrate.ts"
import type { SqlError } from "effect/sql/SqlError"
import { assertPlugin, type BetterAuthLike, CookieSource } from "../services/CookieSource.ts"
import { CurrentSession } from "../services/CurrentSession.ts"
import * as Database from "../sql/Database.ts"
import { type AuditFilter, AuditLog } from "../services/AuditLog.ts"
import { type AuthError, InvalidTokenInput, isAuthError, RateLimited } from "../core/Errors.ts"
import { errorResponse, forbidden, loginLocation, presentedToken, unauthorized } from "../core/Http.ts"
import * as Metrics from "../core/Metrics.ts"
import { RateLimitCounter, storageProblem } from "../services/RateLimitCounter.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import * as Scopes from "../services/Scopes.ts"
import type { Session } from "../core/Session.ts"
import { SessionResolver } from "../services/SessionResolver.ts"
import * as UserModel from "../services/UserModel.ts"
import { connectTokenEndpoints } from "../adapters/plugin.ts"
import { startRefusal } from "../adapters/StartRefusal.ts"
import { currentRequest } from "../adapters/StartRequest.ts"
import * as Stores from "../services/Stores.ts"
import * as TokenPolicy from "../core/TokenPolicy.ts"
import { type CreateTokenInput, type RotateTokenInput, TokenStore } from "../services/TokenStore.ts"
import { type UserFilter, Users } from "../services/Users.ts"

/** The services a runtime provides to the programs it runs. */
export type Services = SessionResolver | Stores.Stores

export interface AuthSessionOptions<R = never> extends Metrics.ObservabilityOptions {
  readonly database?: Database.DatabaseOptions | undefined
  /** Where `requireSession` sends a browser; default `/login`. */
  readonly loginPath?: string | undefined
  /** Server secret for HMAC token digests (see `TokenSecret`). */
  readonly tokenSecret?: string | Redacted.Redacted<string> | undefined
  /** Scopes, who may grant them, maximum lifetime, per-user limit (see `TokenPolicy`). */
  readonly tokens?: TokenPolicy.TokenPolicyOptions | undefined
  /**
   * `false` sends every cookie to `auth.api.getSession` instead of fusion-auth's own one
   * statement (see docs/sessions.md, "The native cookie path"). Default: on where it may answer.
   */
  readonly nativeCookie?: boolean | undefined
  /**
   * Where fusion-auth's log lines go (a start-up notice when the native cookie path is off
   * because Better Auth differs, say): Effect loggers. Default: Effect's default logger, on
   * stderr, so an app's own stdout stays its own. `authLayer` users route them as any Effect log.
   */
  readonly loggers?: ReadonlyArray<Logger.Logger<unknown, unknown>> | undefined
  /**
   * What the runtime exports telemetry with, e.g. `NodeSdk.layer(…)` from `@effect/opentelemetry`:
   * its tracer gets the spans (`spans: true`), its metric reader the metrics
   * (docs/observability.md). Built and closed with the runtime.
   */
  readonly telemetry?: Layer.Layer<never> | undefined
  /**
   * Replaces the live services, e.g. with memory layers or `SessionResolver.layerTest`. It is
   * given this runtime's token policy and secret (`Stores.Settings`), as the live layer is.
   */
  readonly layer?: Layer.Layer<Services | R, never, Stores.Settings> | undefined
}

/** The session type of a Better Auth instance: its own `user` and `session` types. */
export type SessionOf<A> = A extends { readonly $Infer: { readonly Session: { readonly user: infer U; readonly session: infer S } } }
  ? Session<U, S>
  : Session

/** A door to the session: the resolver's `resolve`, or the rate limiter's `admit`. */
type Answer = (headers: Headers) => Effect.Effect<Session, AuthError | RateLimited>

/** What `getSession` and `requireSession` read the request from. */
export type RequestLike = Request | Headers

/** The typed error of a failed Exit; a defect (infrastructure failure) is thrown instead. */
const errorOf = <E>(exit: Exit.Failure<unknown, E>): E => {
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) return error.value
  throw Cause.squash(exit.cause)
}

/** Settles an Exit as a promise: the value, or the typed error itself, or the defect. */
const settle = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw errorOf(exit)
}

const redirectTo = async (href: string): Promise<Response> => {
  try {
    const { redirect } = await import("@tanstack/react-router")
    return redirect({ href, statusCode: 302 })
  } catch {
    return new Response(null, { status: 302, headers: { Location: href } })
  }
}

/**
 * The live services behind `createAuthSession(auth, options)`, as a `Layer` to build into an
 * app's own runtime (`ManagedRuntime.make(authLayer(auth))`, or an HTTP server's layers).
 * While it lives it holds the database; when it is released it closes its pool, the
 * embedded server (last user) and Better Auth's pool from `betterAuthDatabase()`.
 */
export const authLayer = (
  auth: BetterAuthLike,
  options: Pick<AuthSessionOptions, "database" | "tokenSecret" | "tokens" | "nativeCookie" | "metrics" | "spans"> = {}
): Layer.Layer<Services | RateLimiter, Config.ConfigError | SqlError | Database.EmbeddedFailure> => {
  assertPlugin(auth)
  const closeBetterAuth = Layer.effectDiscard(
    Effect.addFinalizer(() => Effect.promise(() => Database.closeBetterAuthDatabase(auth.options.database)))
  )
  const resolver = SessionResolver.layer.pipe(
    Layer.provideMerge(Stores.layer),
    Layer.provide(CookieSource.layer(auth, { native: options.nativeCookie })),
    Layer.provide(UserModel.layer(auth.$context)),
    Layer.provide(Layer.merge(Database.layer(options.database), closeBetterAuth))
  )
  // Rate limits (`tokens.rateLimit`) count in Better Auth's secondaryStorage when the app has one.
  return RateLimiter.layer.pipe(
    Layer.provideMerge(resolver),
    Layer.provide(RateLimitCounter.layerFor(auth.options.secondaryStorage)),
    Layer.provide(Stores.settings(options)),
    Layer.provide(Metrics.layer(options))
  )
}

export const createAuthSession = <A extends BetterAuthLike, R = never>(auth: A, options: AuthSessionOptions<R> = {}) => {
  type S = SessionOf<A>
  const loginPath = options.loginPath ?? "/login"
  const { format, rateLimit } = TokenPolicy.make(options.tokens) // a bad scope, prefix or rate limit throws here, at start-up
  const storage = rateLimit === undefined ? undefined : storageProblem(auth.options.secondaryStorage)
  if (storage !== undefined) throw new Error(storage)

  // R is inferred from `options.layer` alone, so the live layer (used when there is none) lacks nothing.
  // The policy and secret reach a swapped layer too: a test layer sees the app's scopes.
  const runtime = ManagedRuntime.make(
    (options.layer === undefined
      ? (authLayer(auth, options) as Layer.Layer<Services | R, unknown>)
      : options.layer.pipe(Layer.provide(Stores.settings(options)))).pipe(
        Layer.provide(Metrics.layer(options)),
        Layer.provideMerge(options.loggers === undefined ? Layer.succeed(Logger.LogToStderr, true) : Logger.layer(options.loggers)),
        Layer.provideMerge(options.telemetry ?? Layer.empty)
      )
  )

  /** Runs any program over the runtime's services; typed errors reject as themselves. */
  const run = <X, E>(effect: Effect.Effect<X, E, Services | R>): Promise<X> => runtime.runPromiseExit(effect).then(settle)

  // The plugin's token endpoints (`/fusion-auth/tokens/*`) run on this runtime.
  const disconnect = connectTokenEndpoints(auth, { run })

  /**
   * From the runtime's built services (the runtime caches them, and a start-up failure): the
   * resolver, and the rate limiter where the layer has one (a swapped layer may not).
   */
  let doors: Promise<{ readonly resolve: Answer; readonly admit: Answer }> | undefined
  const doorsOf = () =>
    (doors ??= runtime.context().then((services) => {
      const resolver = Context.get(services, SessionResolver)
      const limiter = Context.getOption(services, RateLimiter)
      return { resolve: resolver.resolve, admit: Option.isSome(limiter) ? limiter.value.admit : resolver.resolve }
    }))

  /** The session of `input` by `door`, or why there is none (`{ error }`); rejects only on failure. */
  const answer = async (
    door: Answer,
    request: RequestLike
  ): Promise<{ readonly request: RequestLike; readonly session: S } | { readonly request: RequestLike; readonly error: AuthError | RateLimited }> => {
    const headers = request instanceof Headers ? request : request.headers
    const answer = door(headers)
    // An answer decided with no I/O (a malformed token) is already an Exit: no fiber to run.
    const exit = Exit.isExit(answer) ? (answer as Exit.Exit<Session, AuthError | RateLimited>) : await runtime.runPromiseExit(answer)
    if (Exit.isSuccess(exit)) return { request, session: exit.value as unknown as S }
    const error = errorOf(exit) // the runtime's own start-up failure is not an authentication answer
    if (isAuthError(error) || error instanceof RateLimited) return { request, error }
    throw error
  }

  /**
   * The request's session, or why there is none (`{ error }`), counted against a token's rate
   * limit (`tokens.rateLimit`): what the doors that admit a caller use (`requireSession`, the
   * Start middleware). Rejects only on failure.
   */
  const resolve = async (input?: RequestLike) => answer((await doorsOf()).admit, input ?? (await currentRequest()))

  /** What `requireSession` throws for a refused caller (a token's 401 or 429 shaped for a Start page, see StartRefusal). */
  const refusal = (request: RequestLike, error: AuthError | RateLimited): Promise<Response> =>
    error._tag === "RateLimited"
      ? Promise.resolve(startRefusal(request, errorResponse(error)))
      : presentedToken(error)
      ? Promise.resolve(startRefusal(request, unauthorized(error)))
      : redirectTo(loginLocation(request instanceof Headers ? { url: "http://localhost/", headers: request } : request, loginPath))

  /** The caller's session, or `null` when anonymous, deactivated or holding a bad token. Counts no rate limit. */
  const getSession = async (request?: RequestLike): Promise<S | null> => {
    const result = await answer((await doorsOf()).resolve, request ?? (await currentRequest()))
    return "session" in result ? result.session : null
  }

  /** The caller's session; otherwise throws a redirect to the login page, or a 401 for a token. */
  const requireSession = async (request?: RequestLike): Promise<S> => {
    const result = await resolve(request)
    if ("session" in result) return result.session
    throw await refusal(result.request, result.error)
  }

  /**
   * The caller's session if it holds `scope`; otherwise throws what `requireSession` throws,
   * or a 403 (`insufficient_scope` for a token).
   */
  const requireScope = async (scope: string, request?: RequestLike): Promise<S> => {
    const session = await requireSession(request)
    const exit = Effect.runSyncExit(Scopes.check(session as unknown as Session, scope))
    if (Exit.isFailure(exit)) throw forbidden(errorOf(exit))
    return session
  }

  /** Runs a program that reads `CurrentSession`, after `requireSession` for this request. */
  const withSession = async <X, E>(
    effect: Effect.Effect<X, E, CurrentSession | Services | R>,
    request?: RequestLike
  ): Promise<X> => {
    const session = await requireSession(request)
    return run(Effect.provideService(effect, CurrentSession, session as unknown as Session))
  }

  /**
   * Closes everything this runtime and `betterAuthDatabase()` opened: the services, Better
   * Auth's pool and (when the last user lets go) the embedded database, so a script exits.
   * Not called, it runs once the process has nothing else left to do (`closeWhenIdle`), so that
   * a host's graceful stop (or a script that forgets it) ends the process, cleanly.
   */
  const dispose = async () => {
    forgetAtExit()
    disconnect()
    doors = undefined // a call after this meets the disposed runtime, not its old services
    await runtime.dispose()
    await Database.closeBetterAuthDatabase(auth.options.database)
  }
  const forgetAtExit = closeWhenIdle(dispose, "work")

  return {
    resolve,
    getSession,
    requireSession,
    withSession,
    run,
    runtime,
    requireScope,
    tokens: {
      create: (input: CreateTokenInput) => run(TokenStore.use((store) => store.create(input))),
      list: (userId: string) => run(TokenStore.use((store) => store.list(userId))),
      revoke: (userId: string, tokenId: string, actorId?: string) =>
        run(TokenStore.use((store) => store.revoke(userId, tokenId, actorId))),
      revokeById: (tokenId: string, actorId?: string) => run(TokenStore.use((store) => store.revokeById(tokenId, actorId))),
      rotate: (input: RotateTokenInput) => run(TokenStore.use((store) => store.rotate(input))),
      /**
       * Revokes a leaked plaintext token (of any accepted prefix); a value that is not one is
       * `InvalidTokenInput`. `note` (where it was found) joins the audit event.
       */
      revokeLeaked: (token: string | Redacted.Redacted<string>, actorId?: string, note?: string) => {
        const parsed = format.parse(Redacted.isRedacted(token) ? Redacted.value(token) : token)
        return parsed === undefined
          ? Promise.reject(new InvalidTokenInput({ field: "token", problem: "is not a well-formed fusion-auth token" }))
          : run(TokenStore.use((store) => store.revokeLeaked(parsed, actorId, note)))
      }
    },
    users: {
      deactivate: (userId: string, actorId?: string) => run(Users.use((users) => users.deactivate(userId, actorId))),
      reactivate: (userId: string, actorId?: string) => run(Users.use((users) => users.reactivate(userId, actorId))),
      findByEmail: (email: string) => run(Users.use((users) => users.findByEmail(email))),
      list: (filter?: UserFilter) => run(Users.use((users) => users.list(filter)))
    },
    audit: {
      list: (filter?: AuditFilter) => run(AuditLog.use((log) => log.list(filter)))
    },
    /** `migrate(auth, database, { tokenSecret })` with this runtime's own: it records the app's digest scheme. */
    migrate: () => migrate(auth, options.database, { tokenSecret: options.tokenSecret }),
    /** Closes what this runtime opened (see `dispose` above). */
    dispose
  }
}
