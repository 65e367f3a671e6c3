/**
 * `/settings/tokens`: the signed-in user's own API tokens. The plaintext leaves the server
 * once, in the answer to `createMyToken`; the list shows only the hint.
 */
import { Redacted } from "effect"
import type { RequestLike, TokenInfo } from "fusion-auth"
import { currentRequest } from "fusion-auth/tanstack-start"
import { type AppSession, tokens } from "#/lib/auth"
import type { CreateTokenInput } from "#/lib/tokenForm"

export type TokenView = Omit<TokenInfo, "userId">

const DAY = 24 * 60 * 60 * 1000

const view = ({ userId: _, ...token }: TokenInfo): TokenView => token

/** The caller's tokens, and the scopes they may put on a new one (a browser session holds all its user may grant). */
export const listMyTokens = async ({ user, scopes }: AppSession) => ({
  tokens: (await tokens.list(user.id)).map(view).reverse(),
  grantable: scopes
})

/**
 * Creates a token for the caller; the answer is the only place its plaintext ever appears.
 * As `caller`, the session decides the owner and the most it may grant: a token makes tokens
 * only within its own scopes (`InsufficientScope`), a user only what they may grant.
 */
export const createMyToken = async (session: AppSession, input: CreateTokenInput, request?: RequestLike) => {
  const expiresAt = new Date(Date.now() + input.expiresInDays * DAY)
  const { token, info } = await tokens.create({ caller: session, name: input.name, scopes: input.scopes, expiresAt })
  const req = await currentRequest(request)
  const origin = req instanceof Request ? new URL(req.url).origin : "http://localhost:3000"
  const bearer = `Authorization: Bearer ${Redacted.value(token)}`
  const paths = ["/api/me", "/api/v1/me", ...(info.scopes.includes("admin:users") ? ["/api/v1/admin/users"] : [])]
  return {
    token: Redacted.value(token),
    info: view(info),
    curl: paths.map((path) => `curl -H "${bearer}" ${origin}${path}`)
  }
}

export const revokeMyToken = async ({ user }: AppSession, tokenId: string): Promise<void> => {
  await tokens.revoke(user.id, tokenId)
}
