/**
 * The app's admin rule: a site admin is a user whose `role` is "admin" (auth.ts gives it to
 * the first account), whether they call with their browser or a token. Who may call at all
 * is `requireSessionMiddleware`'s answer; this only tells an admin from a member.
 */
import type { AppSession } from "#/lib/auth"

export const isSiteAdmin = (user: { readonly role?: unknown }): boolean => user.role === "admin"

/** The session, if it is a site admin's; otherwise an error whose message the page shows. */
export const requireSiteAdmin = (session: AppSession): AppSession => {
  if (!isSiteAdmin(session.user)) throw new Error("Only site admins can do this.")
  return session
}
