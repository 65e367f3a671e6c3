/**
 * `/settings/tokens`: the signed-in user's own API tokens, listed for the page's loader. The
 * page creates and revokes them through fusion-auth's Better Auth endpoints (the client plugin,
 * `#/lib/authClient`); the plaintext leaves the server once, in the answer to `create`.
 */
import type { TokenInfo } from "fusion-auth"
import { type AppSession, tokens } from "#/lib/auth"

export type TokenView = Omit<TokenInfo, "userId">

const view = ({ userId: _, ...token }: TokenInfo): TokenView => token

/** The caller's tokens, newest first, and the scopes they may put on a new one (a browser session holds all its user may grant). */
export const listMyTokens = async ({ user, scopes }: AppSession) => ({
  tokens: (await tokens.list(user.id)).map(view).reverse(),
  grantable: scopes
})
