/**
 * The thin runtime: `getSession` / `requireSession` and the token and user operations as
 * promises, over one `ManagedRuntime` of the live services.
 *
 * The three authentication errors become `null` (getSession), a thrown 302 to the login page
 * or, for a caller that presented a Bearer token, a thrown 401 (requireSession). Anything
 * else (database down, Better Auth throwing) is thrown as is: a 5xx, never anonymous.
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { assertPlugin, type BetterAuthLike, CookieSource } from "./CookieSource.ts"
import { CurrentSession } from "./CurrentSession.ts"
import * as Database from "./Database.ts"
import { Anonymous, type AuthError, Deactivated, InvalidToken } from "./Errors.ts"
import { loginLocation, presentedToken, unauthorized } from "./Http.ts"
import * as Migrations from "./Migrations.ts"
import type { Session } from "./Session.ts"
import { SessionResolver } from "./SessionResolver.ts"
import { type CreateTokenInput, TokenSecret, TokenStore } from "./TokenStore.ts"
import { Users } from "./Users.ts"

/** The services a runtime provides to the programs it runs. */
export type Services = SessionResolver | TokenStore | Users

export interface AuthSessionOptions<R = never> {
  readonly database?: Database.DatabaseOptions | undefined
  /** Where `requireSession` sends a browser; default `/login`. */
  readonly loginPath?: string | undefined
  /** Server secret for HMAC token digests (see `TokenSecret`). */
  readonly tokenSecret?: string | Redacted.Redacted<string> | undefined
  /** Replaces the live services, e.g. with memory layers or `SessionResolver.layerTest`. */
  readonly layer?: Layer.Layer<Services | R> | undefined
}

/** The session type of a Better Auth instance: its own `user` and `session` types. */
export type SessionOf<A> = A extends { readonly $Infer: { readonly Session: { readonly user: infer U; readonly session: infer S } } }
  ? Session<U, S>
  : Session

/** What `getSession` and `requireSession` read the request from. */
export type RequestLike = Request | Headers

const isAuthError = (error: unknown): error is AuthError =>
  error instanceof Anonymous || error instanceof Deactivated || error instanceof InvalidToken

/** Settles an Exit as a promise: the value, or the typed error itself, or the defect. */
const settle = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  const error = Cause.findErrorOption(exit.cause)
  throw Option.isSome(error) ? error.value : Cause.squash(exit.cause)
}

const currentRequest = async (): Promise<Request> => {
  try {
    const { getRequest } = await import("@tanstack/react-start/server")
    return getRequest()
  } catch (cause) {
    throw new Error(
      "fusion-auth: no current request. Outside a TanStack Start request, pass the Request or its Headers to getSession/requireSession",
      { cause }
    )
  }
}

const redirectTo = async (href: string): Promise<Response> => {
  try {
    const { redirect } = await import("@tanstack/react-router")
    return redirect({ href, statusCode: 302 })
  } catch {
    return new Response(null, { status: 302, headers: { Location: href } })
  }
}

/** Runs Better Auth's migrations, then fusion-auth's, on the same database. Idempotent. */
export const migrate = async (auth: BetterAuthLike, database?: Database.DatabaseOptions): Promise<void> => {
  const { getMigrations } = await import("better-auth/db/migration")
  const { runMigrations } = await getMigrations(auth.options as Parameters<typeof getMigrations>[0])
  await runMigrations()
  await Effect.runPromise(Migrations.run.pipe(Effect.provide(Database.layer(database)), Effect.asVoid))
}

export const createAuthSession = <A extends BetterAuthLike, R = never>(auth: A, options: AuthSessionOptions<R> = {}) => {
  type S = SessionOf<A>
  const loginPath = options.loginPath ?? "/login"
  const secret = options.tokenSecret === undefined || Redacted.isRedacted(options.tokenSecret)
    ? options.tokenSecret
    : Redacted.make(options.tokenSecret)

  const live = (): Layer.Layer<Services, unknown> => {
    assertPlugin(auth)
    return SessionResolver.layer.pipe(
      Layer.provideMerge(Layer.mergeAll(TokenStore.layer, Users.layer)),
      Layer.provide(CookieSource.layer(auth)),
      Layer.provide(Database.layer(options.database)),
      Layer.provide(Layer.succeed(TokenSecret, secret))
    )
  }
  // R is inferred from `options.layer` alone, so the live layer (used when there is none) lacks nothing.
  const runtime = ManagedRuntime.make(options.layer ?? (live() as Layer.Layer<Services | R, unknown>))

  /** Runs any program over the runtime's services; typed errors reject as themselves. */
  const run = <X, E>(effect: Effect.Effect<X, E, Services | R>): Promise<X> => runtime.runPromiseExit(effect).then(settle)

  const resolve = async (input: RequestLike | undefined) => {
    const request = input ?? (await currentRequest())
    const headers = request instanceof Headers ? request : request.headers
    const exit = await runtime.runPromiseExit(SessionResolver.use((resolver) => resolver.resolve(headers)))
    if (Exit.isSuccess(exit)) return { request, session: exit.value as unknown as S }
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isSome(error) && isAuthError(error.value)) return { request, error: error.value }
    throw Cause.squash(exit.cause)
  }

  /** What `requireSession` throws for a refused caller. */
  const refusal = (request: RequestLike, error: AuthError): Promise<Response> =>
    presentedToken(error)
      ? Promise.resolve(unauthorized(error))
      : redirectTo(loginLocation(request instanceof Headers ? { url: "http://localhost/" } : request, loginPath))

  /** The caller's session, or `null` when anonymous, deactivated or holding a bad token. */
  const getSession = async (request?: RequestLike): Promise<S | null> => {
    const result = await resolve(request)
    return "session" in result ? result.session : null
  }

  /** The caller's session; otherwise throws a redirect to the login page, or a 401 for a token. */
  const requireSession = async (request?: RequestLike): Promise<S> => {
    const result = await resolve(request)
    if ("session" in result) return result.session
    throw await refusal(result.request, result.error)
  }

  /** Runs a program that reads `CurrentSession`, after `requireSession` for this request. */
  const withSession = async <X, E>(
    effect: Effect.Effect<X, E, CurrentSession | Services | R>,
    request?: RequestLike
  ): Promise<X> => {
    const session = await requireSession(request)
    return run(Effect.provideService(effect, CurrentSession, session as unknown as Session))
  }

  return {
    getSession,
    requireSession,
    withSession,
    run,
    runtime,
    tokens: {
      create: (input: CreateTokenInput) => run(TokenStore.use((store) => store.create(input))),
      list: (userId: string) => run(TokenStore.use((store) => store.list(userId))),
      revoke: (userId: string, tokenId: string) => run(TokenStore.use((store) => store.revoke(userId, tokenId)))
    },
    users: {
      deactivate: (userId: string) => run(Users.use((users) => users.deactivate(userId))),
      reactivate: (userId: string) => run(Users.use((users) => users.reactivate(userId)))
    },
    migrate: () => migrate(auth, options.database),
    dispose: () => runtime.dispose()
  }
}
