/**
 * fusion-auth's errors as HTTP, in one place (`errorParts`, and `errorResponse` over it).
 *
 * A caller that presented a Bearer credential is a program: it gets 401 with an RFC 6750
 * `WWW-Authenticate` challenge, never an HTML login page. A browser (cookie or nothing)
 * is sent to the login page with a same-origin `redirect` back to where it was going.
 */
import type { ErrorCode } from "./ErrorCodes.ts"
import type { AuthError, FusionAuthError, InsufficientScope } from "./Errors.ts"
import * as RateLimit from "./RateLimit.ts"
import { SCOPE_PATTERN } from "./Scope.ts"

/** True when the error came from the token path, i.e. the caller presented `Bearer …`. */
export const presentedToken = (error: AuthError): boolean =>
  error._tag === "InvalidToken" || (error._tag === "Deactivated" && error.credential === "token")

/** The `WWW-Authenticate` challenge for a refused caller (RFC 6750 §3). */
export const challenge = (error: AuthError): string =>
  presentedToken(error) ? `Bearer error="invalid_token"` : `Bearer`

/** A 401 JSON response for API routes; the body names the error and nothing secret. */
export const unauthorized = (error: AuthError): Response => errorResponse(error)

const ORIGIN = "http://fusion-auth.invalid"

/**
 * A path that stays on this origin, or `/`. Refuses absolute and scheme-relative URLs
 * (`https:…`, `//evil.com`, `/\evil.com`), control characters and anything a browser
 * would resolve elsewhere; keeps the path, query and fragment of a local one.
 */
export const safeRedirectPath = (candidate: string | null | undefined): string => {
  if (typeof candidate !== "string" || candidate.length === 0 || candidate.length > 2048) return "/"
  // Browsers drop tabs and newlines inside URLs and treat `\` as `/`: judge what they would see.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(candidate)) return "/"
  if (!candidate.startsWith("/") || candidate.startsWith("//") || candidate.startsWith("/\\")) return "/"
  let url: URL
  try {
    url = new URL(candidate, ORIGIN)
  } catch {
    return "/"
  }
  if (url.origin !== ORIGIN) return "/"
  const local = url.pathname + url.search + url.hash
  return local.startsWith("//") || local.startsWith("/\\") ? "/" : local
}

/**
 * Where to send a browser that must sign in: `loginPath?redirect=<own path and query>`.
 * A TanStack server-function call (`x-tsr-serverfn`) is an RPC, not a page: it goes back to
 * the page that made it (its same-origin `Referer`), never to the RPC endpoint.
 */
export const loginLocation = (
  request: { readonly url: string; readonly headers?: Headers | undefined },
  loginPath = "/login"
): string => `${safeRedirectPath(loginPath)}?redirect=${encodeURIComponent(returnPath(request))}`

const returnPath = (request: { readonly url: string; readonly headers?: Headers | undefined }): string => {
  try {
    const url = new URL(request.url)
    if (request.headers?.get("x-tsr-serverfn") == null) return safeRedirectPath(url.pathname + url.search)
    const referer = new URL(request.headers.get("referer") ?? "/", url)
    return referer.origin === url.origin ? safeRedirectPath(referer.pathname + referer.search) : "/"
  } catch {
    return "/" // a URL that does not parse goes back to the root
  }
}

/**
 * A 403 for a caller without a scope. A token gets the RFC 6750 `insufficient_scope`
 * challenge naming the scope it lacks; a browser session gets a plain 403.
 */
export const forbidden = (error: InsufficientScope): Response => errorResponse(error)

/** What `errorResponse` answers, as data, for adapters that build their own response (fusion-auth/http-api). */
export interface ErrorParts {
  readonly status: 400 | 401 | 403 | 404 | 429 | 500 | 503
  readonly body: Readonly<Record<string, string>>
  /** Lower-case names: `cache-control` always, `www-authenticate` for 401 and a token's 403. */
  readonly headers: Readonly<Record<string, string>>
}

const NO_STORE = { "cache-control": "no-store" }

/**
 * The status, JSON body and headers for any error fusion-auth names: 401 with its challenge
 * for the three authentication errors, 403 for `InsufficientScope`, 404 for `TokenNotFound`
 * and `UserNotFound`, 400 for `InvalidTokenInput`, 403 for `ImpersonationRefused`, and 500 for
 * `TokenSecretMismatch` (the server's misconfiguration: the body says nothing more than
 * `server_error`), 429 for `RateLimited` (503 when it could not be counted). Bodies name the
 * error, never a secret.
 */
export const errorParts = (error: FusionAuthError): ErrorParts => {
  switch (error._tag) {
    case "Anonymous":
    case "Deactivated":
    case "InvalidToken":
      return {
        status: 401,
        body: { error: presentedToken(error) ? "invalid_token" : "unauthorized", reason: error._tag },
        headers: { "www-authenticate": challenge(error), ...NO_STORE }
      }
    case "InsufficientScope": {
      // A value that is not a scope name (say, a pasted token) is echoed nowhere.
      const named = SCOPE_PATTERN.test(error.scope)
      return {
        status: 403,
        body: { error: "insufficient_scope", ...(named ? { scope: error.scope } : {}) },
        headers: error.credential === "token"
          ? {
            "www-authenticate": named ? `Bearer error="insufficient_scope", scope="${error.scope}"` : `Bearer error="insufficient_scope"`,
            ...NO_STORE
          }
          : NO_STORE
      }
    }
    case "TokenNotFound":
    case "UserNotFound":
      return { status: 404, body: { error: "not_found", reason: error._tag }, headers: NO_STORE }
    case "ImpersonationRefused":
      return { status: 403, body: { error: "forbidden", reason: error._tag }, headers: NO_STORE }
    case "TokenSecretMismatch":
      // The server's fault, not the caller's: no reason, nothing of the secret or its fingerprint.
      return { status: 500, body: { error: "server_error" }, headers: NO_STORE }
    case "RateLimited":
      // Past the limit: when to come back, and the limit met (draft-ietf-httpapi-ratelimit-headers).
      // Not counted (fail closed): a 503, since it is the server's trouble, not the caller's rate.
      return error.reason === "exceeded"
        ? {
          status: 429,
          body: { error: "rate_limited", reason: error._tag, scope: error.scope },
          headers: {
            "retry-after": String(error.retryAfter),
            ...RateLimit.headers({ scope: error.scope, limit: error.limit, window: error.window, remaining: 0, reset: error.retryAfter }),
            ...NO_STORE
          }
        }
        : { status: 503, body: { error: "temporarily_unavailable", reason: error._tag }, headers: { "retry-after": String(error.retryAfter), ...NO_STORE } }
    case "InvalidTokenInput":
      return {
        status: 400,
        body: { error: "invalid_request", reason: error._tag, field: error.field, problem: error.problem },
        headers: NO_STORE
      }
  }
}

/** The stable code of an error, for the Better Auth endpoints (`APIError` bodies, `$ERROR_CODES`). */
export const errorCode = (error: FusionAuthError): ErrorCode => {
  switch (error._tag) {
    case "Anonymous":
      return "UNAUTHORIZED"
    case "Deactivated":
      return error.reason === "banned" ? "USER_BANNED" : "USER_DEACTIVATED"
    case "InvalidToken":
      return "INVALID_TOKEN"
    case "InsufficientScope":
      return "INSUFFICIENT_SCOPE"
    case "TokenNotFound":
      return "TOKEN_NOT_FOUND"
    case "UserNotFound":
      return "USER_NOT_FOUND"
    case "InvalidTokenInput":
      return "INVALID_TOKEN_INPUT"
    case "ImpersonationRefused":
      return "IMPERSONATION_REFUSED"
    case "TokenSecretMismatch":
      return "SERVER_ERROR"
    case "RateLimited":
      return error.reason === "exceeded" ? "RATE_LIMITED" : "SERVER_ERROR"
  }
}

/** The response for any error fusion-auth names: `errorParts` as a JSON `Response`. */
export const errorResponse = (error: FusionAuthError): Response => {
  const { status, body, headers } = errorParts(error)
  return Response.json(body, { status, headers })
}
