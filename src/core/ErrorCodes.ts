/**
 * The stable error codes of fusion-auth's Better Auth endpoints, as Better Auth plugins declare
 * theirs (`$ERROR_CODES`: each a `code` and a default `message`). No imports: the browser's
 * client plugin (`fusion-auth/client`) carries this file and nothing of the server.
 */
const define = <const T extends Record<string, string>>(codes: T): { readonly [K in keyof T & string]: { readonly code: K; readonly message: T[K] } } =>
  Object.fromEntries(Object.entries(codes).map(([code, message]) => [code, { code, message }])) as never

export const ERROR_CODES = define({
  UNAUTHORIZED: "Sign in, or present a live API token",
  INVALID_TOKEN: "The API token is not a live token",
  USER_DEACTIVATED: "This account is deactivated.",
  USER_BANNED: "This account is banned.",
  IMPERSONATION_REFUSED: "A session under impersonation cannot mint or rotate API tokens",
  INSUFFICIENT_SCOPE: "The caller lacks a scope this needs",
  TOKEN_NOT_FOUND: "No such token",
  USER_NOT_FOUND: "No such user",
  INVALID_TOKEN_INPUT: "A token field was refused",
  RATE_LIMITED: "The API token is past its rate limit",
  SERVER_ERROR: "The server could not complete the request"
})

export type ErrorCode = keyof typeof ERROR_CODES
