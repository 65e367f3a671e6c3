/**
 * fusion-auth: one choke point for Better Auth cookies and `sk_live_…` API tokens.
 */
export * as ApiToken from "./ApiToken.ts"
export { type AuditAction, type AuditEvent, type AuditFilter, AuditLog } from "./AuditLog.ts"
export { type Presented, presented } from "./Authorization.ts"
export { type BetterAuthLike, BetterAuthFailure, CookieSource } from "./CookieSource.ts"
export { CurrentSession } from "./CurrentSession.ts"
export {
  authLayer,
  type AuthSessionOptions,
  createAuthSession,
  migrate,
  type RequestLike,
  type Services,
  type SessionOf
} from "./createAuthSession.ts"
export * as Database from "./Database.ts"
export { betterAuthDatabase, closeEmbedded } from "./Database.ts"
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
} from "./Errors.ts"
export { challenge, forbidden, loginLocation, presentedToken, safeRedirectPath, unauthorized } from "./Http.ts"
export { LastUsed } from "./LastUsed.ts"
export { MemoryDatabase, type TokenRecord } from "./MemoryDatabase.ts"
export * as Migrations from "./Migrations.ts"
export { fusionAuth, PLUGIN_ID } from "./plugin.ts"
export type { Session, SessionRow, User } from "./Session.ts"
export { requireScope } from "./Scopes.ts"
export { SessionResolver } from "./SessionResolver.ts"
export * as Stores from "./Stores.ts"
export * as TokenPolicy from "./TokenPolicy.ts"
export {
  type CreatedToken,
  type CreateTokenInput,
  type RotateTokenInput,
  type TokenInfo,
  TokenSecret,
  TokenStore,
  type VerifiedToken
} from "./TokenStore.ts"
export { type UserFilter, Users, type UserStatus } from "./Users.ts"
