/**
 * fusion-auth: one choke point for Better Auth cookies and `sk_live_…` API tokens.
 *
 * The root holds what a TanStack Start (or any promise-based) app needs: the runtime
 * (`createAuthSession`), the Better Auth plugin and database, GitHub's leak alerts handler
 * (`githubSecretScanning`), the errors and the `Session` types. Effect programs: `fusion-auth/effect`; tests: `fusion-auth/testing`; adapters:
 * `fusion-auth/tanstack-start`, `fusion-auth/http-api`.
 *
 * @module fusion-auth
 */
export { type AuthSessionOptions, createAuthSession, type RequestLike, type SessionOf } from "./runtime/createAuthSession.ts"
export { migrate, type MigrateOptions } from "./runtime/migrate.ts"
export { fusionAuth } from "./adapters/plugin.ts"
export { githubSecretScanning, type GitHubSecretScanningOptions } from "./adapters/GitHubSecretScanning.ts"
export { betterAuthDatabase, type DatabaseOptions } from "./sql/Database.ts"
export {
  Anonymous,
  type AuthError,
  type Credential,
  Deactivated,
  type FusionAuthError,
  ImpersonationRefused,
  InsufficientScope,
  InvalidToken,
  InvalidTokenInput,
  InvalidTokenReason,
  isAuthError,
  isFusionAuthError,
  RateLimited,
  TokenNotFound,
  TokenSecretMismatch,
  UserNotFound
} from "./core/Errors.ts"
export type { Session, SessionRow, User } from "./core/Session.ts"
export { MANAGE_TOKENS } from "./core/Scope.ts"
export type { TokenPolicyOptions } from "./core/TokenPolicy.ts"
export type { RateLimitOptions } from "./core/RateLimit.ts"
export type { LockOutReason } from "./core/LockOut.ts"
export type { CreatedToken, CreateTokenInput, RotateTokenInput, TokenInfo } from "./services/TokenStore.ts"
export type { UserFilter, UserStatus } from "./services/Users.ts"
export type { AuditAction, AuditEvent, AuditFilter } from "./services/AuditLog.ts"
