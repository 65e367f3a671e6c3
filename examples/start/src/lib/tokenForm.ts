/** The token form's choices and the lines it shows to try a new token: safe in a browser. */
import { MAX_LIFETIME_DAYS } from "./tokenPolicy.ts"

/** Expiry choices the form offers, in days, up to the policy's maximum lifetime. */
export const EXPIRY_DAYS = [7, 30, MAX_LIFETIME_DAYS] as const

/** The scope the form starts with ticked. */
export const DEFAULT_SCOPE = "read"

/** `curl` lines that call this app with a new token: the paths its scopes open. */
export const tryLines = (origin: string, token: string, scopes: ReadonlyArray<string>): ReadonlyArray<string> =>
  ["/api/me", "/api/v1/me", ...(scopes.includes("admin:users") ? ["/api/v1/admin/users"] : [])].map(
    (path) => `curl -H "Authorization: Bearer ${token}" ${origin}${path}`
  )
