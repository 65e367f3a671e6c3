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
import { Effect, Layer, Option } from "effect"
import { HttpServerRequest } from "effect/http"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import type { Session } from "../core/Session.ts"
import { CurrentSession } from "../services/CurrentSession.ts"
import * as Scopes from "../services/Scopes.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { SessionResolver } from "../services/SessionResolver.ts"
import {
  Forbidden,
  fromRateLimited,
  RateLimitUnavailableResponse,
  TooManyRequestsResponse,
  Unauthorized,
  UnauthorizedResponse
} from "./HttpApiErrors.ts"

/** Who is calling: add it to a group (`.middleware(Authentication)`); handlers read `CurrentSession`. */
export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentSession }>()(
  "fusion-auth/http-api/Authentication",
  {
    security: {
      bearer: HttpApiSecurity.bearer.pipe(
        HttpApiSecurity.annotate(OpenApi.Description, "An `sk_live_…` API token. A browser's signed-in session cookie is accepted too.")
      )
    },
    error: [UnauthorizedResponse, TooManyRequestsResponse, RateLimitUnavailableResponse]
  }
) {}

/** The request's headers as the resolver reads them. */
const headersOf = (request: HttpServerRequest.HttpServerRequest): Headers => new Headers(Object.entries(request.headers))

/**
 * `Authentication` over the app's `SessionResolver` (`authLayer(auth)`, or `SessionResolver.layerTest`);
 * where the layer has a `RateLimiter` (`authLayer` does), a token caller is counted: past its
 * limit, the 429 `TooManyRequests`.
 */
export const AuthenticationLayer: Layer.Layer<Authentication, never, SessionResolver> = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const resolver = yield* SessionResolver
    const limiter = yield* Effect.serviceOption(RateLimiter)
    const admit = Option.isSome(limiter) ? limiter.value.admit : resolver.resolve
    return Authentication.of({
      bearer: (handler) =>
        HttpServerRequest.HttpServerRequest.pipe(
          Effect.flatMap((request) => admit(headersOf(request))),
          Effect.mapError((error) => (error._tag === "RateLimited" ? fromRateLimited(error) : Unauthorized.from(error))),
          Effect.flatMap((session) => Effect.provideService(handler, CurrentSession, session))
        )
    })
  })
)

/**
 * Fails with the 403 `Forbidden` unless the current caller holds `scope`: for a handler
 * behind `Authentication` on an endpoint that declares `error: ForbiddenResponse`.
 */
export const requireScope = (scope: string): Effect.Effect<Session, Forbidden, CurrentSession> =>
  Scopes.requireScope(scope).pipe(Effect.mapError(Forbidden.from))
