/**
 * The Effect HttpApi security middleware: `Authentication` provides `CurrentSession` to the
 * handlers of every group it guards, resolved by `SessionResolver` (the one choke point).
 *
 * Its declared scheme is Bearer, which the OpenAPI document shows; a browser's Better Auth
 * cookie works too. The surprising part: HttpApi calls the `bearer` handler even when the
 * request has no `Authorization: Bearer`, with an empty credential, and the handler ignores
 * the credential it is given: the resolver reads the whole request's headers (a Bearer
 * header decides alone; without one, the cookie does), so no token is ever unwrapped here.
 */
import { Effect, Layer } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import type { Session } from "../core/Session.ts"
import { CurrentSession } from "../services/CurrentSession.ts"
import * as Scopes from "../services/Scopes.ts"
import { SessionResolver } from "../services/SessionResolver.ts"
import { Forbidden, Unauthorized, UnauthorizedResponse } from "./HttpApiErrors.ts"

/** Who is calling: add it to a group (`.middleware(Authentication)`); handlers read `CurrentSession`. */
export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentSession }>()(
  "fusion-auth/http-api/Authentication",
  {
    security: {
      bearer: HttpApiSecurity.bearer.pipe(
        HttpApiSecurity.annotate(OpenApi.Description, "An `sk_live_…` API token. A browser's signed-in session cookie is accepted too.")
      )
    },
    error: UnauthorizedResponse
  }
) {}

/** The request's headers as the resolver reads them. */
const headersOf = (request: HttpServerRequest.HttpServerRequest): Headers => new Headers(Object.entries(request.headers))

/** `Authentication` over the app's `SessionResolver` (`authLayer(auth)`, or `SessionResolver.layerTest`). */
export const AuthenticationLayer: Layer.Layer<Authentication, never, SessionResolver> = Layer.effect(
  Authentication,
  SessionResolver.use((resolver) =>
    Effect.succeed(Authentication.of({
      bearer: (handler) =>
        HttpServerRequest.HttpServerRequest.pipe(
          Effect.flatMap((request) => resolver.resolve(headersOf(request))),
          Effect.mapError(Unauthorized.from),
          Effect.flatMap((session) => Effect.provideService(handler, CurrentSession, session))
        )
    }))
  )
)

/**
 * Fails with the 403 `Forbidden` unless the current caller holds `scope`: for a handler
 * behind `Authentication` on an endpoint that declares `error: ForbiddenResponse`.
 */
export const requireScope = (scope: string): Effect.Effect<Session, Forbidden, CurrentSession> =>
  Scopes.requireScope(scope).pipe(Effect.mapError(Forbidden.from))
