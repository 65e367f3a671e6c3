/**
 * The Effect HTTP API under `/api/v1`. Its security middleware asks the same resolver as
 * every server function (one choke point) and provides `CurrentSession` to the handlers; a
 * refused caller gets the same 401 as `/api/me`, from fusion-auth's `unauthorized`. An
 * endpoint that needs a scope checks it with fusion-auth's `requireScope` on that session; a
 * caller without it gets fusion-auth's `forbidden` 403.
 */
import { Effect, Layer, Result, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSecurity,
  OpenApi
} from "effect/http-api"
import { CurrentSession, forbidden, requireScope, SessionResolver, TokenStore, unauthorized, Users } from "fusion-auth/effect"
import { type InsufficientScope } from "fusion-auth"
import { via } from "#/lib/caller"

// ---- the contract ----------------------------------------------------------------------------

export const Caller = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  name: Schema.String,
  role: Schema.String,
  via: Schema.Literals(["cookie", "token"]),
  scopes: Schema.Array(Schema.String)
})

export const Token = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  hint: Schema.String,
  scopes: Schema.Array(Schema.String),
  createdAt: Schema.Date,
  expiresAt: Schema.NullOr(Schema.Date),
  lastUsedAt: Schema.NullOr(Schema.Date),
  revokedAt: Schema.NullOr(Schema.Date)
})

export const UserRow = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  name: Schema.String,
  role: Schema.String,
  deactivatedAt: Schema.NullOr(Schema.Date)
})

/** Who is calling. The declared scheme is Bearer; a browser's session cookie works too. */
export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentSession }>()(
  "example/Authentication",
  { security: { bearer: HttpApiSecurity.bearer } }
) {}

export class AccountApi extends HttpApiGroup.make("account")
  .add(
    HttpApiEndpoint.get("me", "/me", { success: Caller }),
    HttpApiEndpoint.get("tokens", "/tokens", { success: Schema.Array(Token) })
  )
  .middleware(Authentication)
{}

/** Needs the `admin:users` scope: a site admin's browser session, or a token granted it. */
export class AdminApi extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.get("users", "/admin/users", { success: Schema.Array(UserRow) }))
  .middleware(Authentication)
{}

export class Api extends HttpApi.make("fusion-auth-example")
  .add(AccountApi)
  .add(AdminApi)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({ title: "fusion-auth example API" }))
{}

// ---- the server ------------------------------------------------------------------------------

/** Resolves the whole request (Bearer or cookie) at the choke point; the decoded credential is not needed. */
export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const resolver = yield* SessionResolver
    return Authentication.of({
      bearer: (handler) =>
        Effect.gen(function*() {
          const request = yield* HttpServerRequest.HttpServerRequest
          const resolved = yield* Effect.result(resolver.resolve(new Headers(Object.entries(request.headers))))
          if (Result.isFailure(resolved)) return HttpServerResponse.fromWeb(unauthorized(resolved.failure))
          return yield* Effect.provideService(handler, CurrentSession, resolved.success)
        })
    })
  })
)

export const AccountHandlers = HttpApiBuilder.group(
  Api,
  "account",
  Effect.fn(function*(handlers) {
    const tokens = yield* TokenStore
    return handlers
      .handle("me", () =>
        Effect.gen(function*() {
          const session = yield* CurrentSession
          const { id, email, name, role } = session.user
          return { id, email, name, role: typeof role === "string" ? role : "member", via: via(session), scopes: session.scopes }
        }))
      .handle("tokens", () =>
        Effect.gen(function*() {
          const { user } = yield* CurrentSession
          return yield* tokens.list(user.id)
        }))
  })
)

/** A caller without the scope gets fusion-auth's 403: for a token, `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`. */
const refuse = (error: InsufficientScope) => Effect.succeed(HttpServerResponse.fromWeb(forbidden(error)))

export const AdminHandlers = HttpApiBuilder.group(
  Api,
  "admin",
  Effect.fn(function*(handlers) {
    const users = yield* Users
    return handlers.handle("users", () =>
      Effect.gen(function*() {
        yield* requireScope("admin:users")
        return (yield* users.list()).map((user) => ({
          id: user.id,
          email: user.email,
          name: user.name,
          role: typeof user.role === "string" ? user.role : "member",
          deactivatedAt: user.deactivatedAt ?? null
        }))
      }).pipe(Effect.catchTag("InsufficientScope", refuse)))
  })
)

/**
 * A fetch handler for the API, over the given fusion-auth services (the app's runtime, or
 * test layers). Built once; `dispose` releases it.
 */
export const makeApiHandler = (services: Layer.Layer<SessionResolver | TokenStore | Users>) =>
  HttpRouter.toWebHandler(
    HttpApiBuilder.layer(Api, { openapiPath: "/api/v1/openapi.json" }).pipe(
      Layer.provide([AccountHandlers, AdminHandlers]),
      Layer.provide(AuthenticationLive),
      Layer.provide(services),
      Layer.provide(HttpServer.layerServices)
    ),
    { disableLogger: true }
  )
