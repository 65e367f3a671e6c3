/**
 * The app's roles, kept by Better Auth's `admin` plugin (auth.ts): its `role` field on the user,
 * "member" by default, "admin" for the first account to sign up (auth.ts's hook). A site admin
 * is a user the plugin counts as an admin, by the plugin's own rule: `role` is a comma-separated
 * list, and one of them is in `adminRoles`. That holds whether they call with their browser or
 * a token. Who may call at all is `requireSessionMiddleware`'s answer; this only tells an admin
 * from a member. Safe in a browser (tokenPolicy.ts uses it): no Better Auth import here.
 */
import type { AppSession } from "#/lib/auth"

/** The admin plugin's `defaultRole` and `adminRoles` (auth.ts passes these). */
export const DEFAULT_ROLE = "member"
export const ADMIN_ROLES: ReadonlyArray<string> = ["admin"]

/** The plugin's `role` of any user shape (fusion-auth's `User` carries the app's fields untyped). */
const roleField = (user: object): unknown => (user as { readonly role?: unknown }).role

export const isSiteAdmin = (user: object): boolean => {
  const role = roleField(user)
  return typeof role === "string" && role.split(",").some((r) => ADMIN_ROLES.includes(r.trim()))
}

/** The user's role as the pages show it: the plugin's default for a user with none. */
export const roleOf = (user: object): string => {
  const role = roleField(user)
  return typeof role === "string" && role !== "" ? role : DEFAULT_ROLE
}

/** The session, if it is a site admin's; otherwise an error whose message the page shows. */
export const requireSiteAdmin = (session: AppSession): AppSession => {
  if (!isSiteAdmin(session.user)) throw new Error("Only site admins can do this.")
  return session
}
