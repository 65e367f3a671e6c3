/**
 * The app's API-token policy (docs/api-tokens.md): the scopes it declares, who may grant
 * which, and the longest a token may live. `createAuthSession` in auth.ts takes it as is;
 * the token form reads the lifetime from here too, so this module is safe in a browser.
 */
import type { TokenPolicy } from "fusion-auth/effect"
import { isSiteAdmin } from "./admin.ts"

export const SCOPES = ["read", "write", "admin:users"] as const

/** A token asked for without an expiry gets this; one asked for beyond it is refused. */
export const MAX_LIFETIME_DAYS = 90

export const tokenPolicy: TokenPolicy.TokenPolicyOptions = {
  scopes: SCOPES,
  // Site admins (the admin plugin's admin role, see admin.ts) may grant every scope; members `read` and `write`.
  grantable: (user) => (isSiteAdmin(user) ? SCOPES : ["read", "write"]),
  maxLifetime: `${MAX_LIFETIME_DAYS} days`
}
