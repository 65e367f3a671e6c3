/**
 * The Effect HTTP API under `/api/v1`, secured by fusion-auth's `Authentication` middleware:
 * the same resolver as every server function (one choke point) provides `CurrentSession`
 * to the handlers, for a token or the browser's cookie. Refusals are fusion-auth's own 401
 * and 403 (`fusion-auth/http-api`), the same answers as `/api/me`; nothing is mapped here.
 */
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { type SessionResolver, TokenStore, Users } from "fusion-auth/effect"
import { Authentication, AuthenticationLayer, CurrentSession, ForbiddenResponse, requireScope } from "fusion-auth/http-api"
import { roleOf } from "#/lib/admin"
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

export class AccountApi extends HttpApiGroup.make("account")
  .add(
    HttpApiEndpoint.get("me", "/me", { success: Caller }),
    HttpApiEndpoint.get("tokens", "/tokens", { success: Schema.Array(Token) })
  )
  .middleware(Authentication)
{}

/** Needs the `admin:users` scope: a site admin's browser session, or a token granted it. */
export class AdminApi extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.get("users", "/admin/users", { success: Schema.Array(UserRow), error: ForbiddenResponse }))
  .middleware(Authentication)
{}

export class Api extends HttpApi.make("fusion-auth-example")
  .add(AccountApi)
  .add(AdminApi)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({ title: "fusion-auth example API" }))
{}

// ---- the server ------------------------------------------------------------------------------

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
          return { id, email, name, role: roleOf({ role }), via: via(session), scopes: session.scopes }
        }))
      .handle("tokens", () =>
        Effect.gen(function*() {
          const { user } = yield* CurrentSession
          return yield* tokens.list(user.id)
        }))
  })
)

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
          role: roleOf(user),
          deactivatedAt: user.deactivatedAt ?? null
        }))
      }))
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
      Layer.provide(AuthenticationLayer),
      Layer.provide(services),
      Layer.provide(HttpServer.layerServices)
    ),
    { disableLogger: true }
  )
