/**
 * The app's admin rule, built on `requireSession()`: identical for a browser and a token.
 * Anonymous or deactivated callers get `requireSession`'s answer (login page or 401); a
 * signed-in member gets `Forbidden`.
 */
import type { RequestLike } from "fusion-auth"
import { requireSession } from "#/lib/auth"

export class Forbidden extends Error {
  override readonly name = "Forbidden"
  readonly status = 403
  constructor() {
    super("Only site admins can do this.")
  }
}

export const isSiteAdmin = (user: { readonly role?: unknown }): boolean => user.role === "admin"

export const requireSiteAdmin = async (request?: RequestLike) => {
  const session = await requireSession(request)
  if (!isSiteAdmin(session.user)) throw new Forbidden()
  return session
}
