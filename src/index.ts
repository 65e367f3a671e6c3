/**
 * fusion-auth: one choke point for Better Auth cookies and `sk_live_…` API tokens.
 */
export * as ApiToken from "./core/ApiToken.ts"
export { type AuditAction, type AuditEvent, type AuditFilter, AuditLog } from "./services/AuditLog.ts"
export { type Presented, presented } from "./core/Authorization.ts"
export { type BetterAuthLike, BetterAuthFailure, CookieSource } from "./services/CookieSource.ts"
export { CurrentSession } from "./services/CurrentSession.ts"
export {
  authLayer,
  type AuthSessionOptions,
  createAuthSession,
  migrate,
  type RequestLike,
  type Services,
  type SessionOf
} from "./runtime/createAuthSession.ts"
export * as Database from "./sql/Database.ts"
export { betterAuthDatabase, closeEmbedded } from "./sql/Database.ts"
export {
  Anonymous,
  type AuthError,
  type Credential,
  Deactivated,
  InsufficientScope,
  InvalidToken,
  InvalidTokenInput,
  InvalidTokenReason,
  TokenNotFound,
  UserNotFound
} from "./core/Errors.ts"
export { challenge, forbidden, loginLocation, presentedToken, safeRedirectPath, unauthorized } from "./core/Http.ts"
export { LastUsed } from "./services/LastUsed.ts"
export { MemoryDatabase, type TokenRecord } from "./memory/MemoryDatabase.ts"
export * as Migrations from "./sql/Migrations.ts"
export { fusionAuth, PLUGIN_ID } from "./adapters/plugin.ts"
export type { Session, SessionRow, User } from "./core/Session.ts"
export { requireScope } from "./services/Scopes.ts"
export { SessionResolver } from "./services/SessionResolver.ts"
export * as Stores from "./services/Stores.ts"
export * as TokenPolicy from "./core/TokenPolicy.ts"
export {
  type CreatedToken,
  type CreateTokenInput,
  type RotateTokenInput,
  type TokenInfo,
  TokenSecret,
  TokenStore,
  type VerifiedToken
} from "./services/TokenStore.ts"
export { type UserFilter, Users, type UserStatus } from "./services/Users.ts"
