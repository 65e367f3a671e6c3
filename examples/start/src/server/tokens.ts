/**
 * `/settings/tokens`: the signed-in user's own API tokens. The plaintext leaves the server
 * once, in the answer to `createMyToken`; the list shows only the hint.
 */
import { Redacted } from "effect"
import { forbidden } from "fusion-auth/effect"
import { InsufficientScope, type RequestLike, type TokenInfo } from "fusion-auth"
import { requireSession, tokens } from "#/lib/auth"
import { via } from "#/lib/caller"
import { currentRequest } from "#/lib/request"
import type { CreateTokenInput } from "#/lib/tokenForm"
import { SCOPES } from "#/lib/tokenPolicy"

export type TokenView = Omit<TokenInfo, "userId">

const DAY = 24 * 60 * 60 * 1000

const view = ({ userId: _, ...token }: TokenInfo): TokenView => token

/** The caller's tokens, and the scopes they may put on a new one (a browser session holds all its user may grant). */
export const listMyTokens = async (request?: RequestLike) => {
  const { user, scopes } = await requireSession(request)
  return { tokens: (await tokens.list(user.id)).map(view).reverse(), grantable: scopes }
}

/** The app's scopes as plain strings, to test untrusted input against. */
const declared: ReadonlyArray<string> = SCOPES

/** Creates a token for the caller; the answer is the only place its plaintext ever appears. */
export const createMyToken = async (input: CreateTokenInput, request?: RequestLike) => {
  const req = await currentRequest(request)
  const session = await requireSession(req)
  // A token may make tokens too, but none with a right it lacks itself. (fusion-auth judges
  // the rest below: an unknown scope, or one the user may not grant, is `InvalidTokenInput`.)
  const lacking = via(session) === "token"
    ? input.scopes.find((scope) => declared.includes(scope) && !session.scopes.includes(scope))
    : undefined
  if (lacking !== undefined) throw forbidden(new InsufficientScope({ scope: lacking, credential: "token" }))

  const expiresAt = new Date(Date.now() + input.expiresInDays * DAY)
  const { token, info } = await tokens.create({ userId: session.user.id, name: input.name, scopes: input.scopes, expiresAt })
  const origin = req instanceof Request ? new URL(req.url).origin : "http://localhost:3000"
  const bearer = `Authorization: Bearer ${Redacted.value(token)}`
  const paths = ["/api/me", "/api/v1/me", ...(info.scopes.includes("admin:users") ? ["/api/v1/admin/users"] : [])]
  return {
    token: Redacted.value(token),
    info: view(info),
    curl: paths.map((path) => `curl -H "${bearer}" ${origin}${path}`)
  }
}

export const revokeMyToken = async (tokenId: string, request?: RequestLike): Promise<void> => {
  const { user } = await requireSession(request)
  await tokens.revoke(user.id, tokenId)
}
