/**
 * `GET /api/me`: the caller as JSON, for a browser cookie or an API token alike. The route's
 * `requireSessionRequestMiddleware` answers a refused caller with fusion-auth's 401 (naming
 * `invalid_token` when a token was presented), never a login page; this only shapes the answer.
 */
import type { AppSession } from "#/lib/auth"
import { roleOf } from "#/lib/admin"
import { via } from "#/lib/caller"

export const me = (session: AppSession): Response => {
  const { user, scopes } = session
  return Response.json(
    { id: user.id, email: user.email, name: user.name, role: roleOf(user), via: via(session), scopes },
    { headers: { "Cache-Control": "no-store" } }
  )
}
