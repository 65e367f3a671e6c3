/**
 * `/settings/tokens`: the signed-in user's own API tokens. The plaintext leaves the server
 * once, in the answer to `createMyToken`; the list shows only the hint.
 */
import { Redacted } from "effect"
import type { RequestLike, TokenInfo } from "fusion-auth"
import { requireSession, tokens } from "#/lib/auth"
import { currentRequest } from "#/lib/request"
import type { CreateTokenInput } from "#/lib/tokenForm"

export type TokenView = Omit<TokenInfo, "userId">

const DAY = 24 * 60 * 60 * 1000

const view = ({ userId: _, ...token }: TokenInfo): TokenView => token

export const listMyTokens = async (request?: RequestLike): Promise<ReadonlyArray<TokenView>> => {
  const { user } = await requireSession(request)
  return (await tokens.list(user.id)).map(view).reverse()
}

/** Creates a token for the caller; the answer is the only place its plaintext ever appears. */
export const createMyToken = async (input: CreateTokenInput, request?: RequestLike) => {
  const req = await currentRequest(request)
  const { user } = await requireSession(req)
  const expiresAt = input.expiresInDays === null ? undefined : new Date(Date.now() + input.expiresInDays * DAY)
  const { token, info } = await tokens.create({ userId: user.id, name: input.name, expiresAt })
  const origin = req instanceof Request ? new URL(req.url).origin : "http://localhost:3000"
  const bearer = `Authorization: Bearer ${Redacted.value(token)}`
  return {
    token: Redacted.value(token),
    info: view(info),
    curl: [`curl -H "${bearer}" ${origin}/api/me`, `curl -H "${bearer}" ${origin}/api/v1/me`]
  }
}

export const revokeMyToken = async (tokenId: string, request?: RequestLike): Promise<void> => {
  const { user } = await requireSession(request)
  await tokens.revoke(user.id, tokenId)
}
