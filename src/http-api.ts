/**
 * fusion-auth/http-api: the session layer for an Effect HttpApi server.
 *
 * `Authentication` (security middleware, Bearer in OpenAPI, the browser cookie too) provides
 * `CurrentSession`; `AuthenticationLayer` implements it over `SessionResolver`; `requireScope`
 * guards a handler. Refusals are `Unauthorized` (401) and `Forbidden` (403), on the wire
 * exactly as `errorResponse` answers them (`UnauthorizedResponse`, `ForbiddenResponse`).
 *
 * @module fusion-auth/http-api
 */
export { Authentication, AuthenticationLayer, requireScope } from "./adapters/HttpApiAuthentication.ts"
export {
  Forbidden,
  ForbiddenResponse,
  RateLimitUnavailable,
  RateLimitUnavailableResponse,
  TooManyRequests,
  TooManyRequestsResponse,
  Unauthorized,
  UnauthorizedResponse
} from "./adapters/HttpApiErrors.ts"
export { CurrentSession } from "./services/CurrentSession.ts"
