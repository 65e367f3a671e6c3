/**
 * fusion-auth/effect: the services behind the runtime, for Effect programs and servers.
 *
 * `SessionResolver` is the choke point; `RateLimiter` the step after it that counts a token's
 * requests (`TokenPolicy.rateLimit`); `CurrentSession` the caller of the request being
 * served; the stores (`TokenStore`, `Users`, `AuditLog`) with their layers (`Stores`); the
 * live `Layer` of them all (`authLayer`); the metrics and the span it records (`Metrics`); and
 * the one mapping of errors to HTTP (`errorResponse`).
 *
 * @module fusion-auth/effect
 */
export { authLayer, type Services } from "./runtime/createAuthSession.ts"
export { SessionResolver } from "./services/SessionResolver.ts"
export { RateLimiter } from "./services/RateLimiter.ts"
export { CounterUnavailable, type IncrementingStorage, RateLimitCounter } from "./services/RateLimitCounter.ts"
export * as RateLimit from "./core/RateLimit.ts"
export { CurrentSession } from "./services/CurrentSession.ts"
export { requireScope } from "./services/Scopes.ts"
export { type BetterAuthLike, BetterAuthFailure, CookieSource } from "./services/CookieSource.ts"
export {
  type CreatedToken,
  type CreateTokenInput,
  type RotateTokenInput,
  type TokenInfo,
  TokenStore,
  type VerifiedToken
} from "./services/TokenStore.ts"
export { type UserFilter, Users, type UserStatus } from "./services/Users.ts"
export { type AuditAction, type AuditEvent, type AuditFilter, AuditLog } from "./services/AuditLog.ts"
export * as Stores from "./services/Stores.ts"
export * as TokenPolicy from "./core/TokenPolicy.ts"
export * as Metrics from "./core/Metrics.ts"
export { TokenSecret } from "./core/TokenSecret.ts"
export * as ApiToken from "./core/ApiToken.ts"
export * as Database from "./sql/Database.ts"
export * as Migrations from "./sql/Migrations.ts"
export { challenge, errorResponse, forbidden, loginLocation, presentedToken, safeRedirectPath, unauthorized } from "./core/Http.ts"
export { EmbeddedDatabaseInUse } from "./sql/EmbeddedLock.ts"
export { EmbeddedDatabaseError } from "./sql/EmbeddedDatabase.ts"
