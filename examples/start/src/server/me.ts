/**
 * `GET /api/me`: the caller as JSON, for a browser cookie or an API token alike. A refused
 * caller gets fusion-auth's 401 JSON with `WWW-Authenticate` (naming `invalid_token` when a
 * token was presented), never a login page.
 */
import { Effect, Result } from "effect"
import { SessionResolver, unauthorized } from "fusion-auth/effect"
import { run } from "#/lib/auth"
import { via } from "#/lib/caller"

/** The choke point itself, so a refusal keeps its reason (`getSession` would say only `null`). */
export const resolve = (request: Request) =>
  run(SessionResolver.use((resolver) => resolver.resolve(request.headers)).pipe(Effect.result))

export const me = async (request: Request): Promise<Response> => {
  const resolved = await resolve(request)
  if (Result.isFailure(resolved)) return unauthorized(resolved.failure)
  const { user, scopes } = resolved.success
  return Response.json(
    { id: user.id, email: user.email, name: user.name, role: user.role, via: via(resolved.success), scopes },
    { headers: { "Cache-Control": "no-store" } }
  )
}
