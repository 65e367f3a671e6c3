/**
 * fusion-auth/client: the Better Auth client plugin for the caller's own API tokens, safe for a
 * browser bundle. `createAuthClient({ plugins: [fusionAuthClient()] })` → `authClient.fusionAuth.tokens.*`.
 *
 * @module fusion-auth/client
 */
export { fusionAuthClient } from "./adapters/BetterAuthClient.ts"
export { type ErrorCode, ERROR_CODES as FUSION_AUTH_ERROR_CODES } from "./core/ErrorCodes.ts"
export { MANAGE_TOKENS } from "./core/Scope.ts"
export type { CreatedTokenView } from "./adapters/TokenEndpoints.ts"
export type { TokenInfo } from "./core/TokenTypes.ts"
