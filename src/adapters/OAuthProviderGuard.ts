/**
 * Better Auth's OAuth 2.1 provider (`@better-auth/oauth-provider`, the plugin whose id is
 * `oauth-provider`) hands third-party clients tokens for a user. While that user is locked out
 * (`core/LockOut.ts`) none of them serves, and each answers again once the lock-out ends:
 * - `/oauth2/token` (an authorization code, a refresh token, the device grant, an extension's
 *   grant): 400 `invalid_grant`, before a refresh token rotates;
 * - an opaque access token at `/oauth2/userinfo` and `/oauth2/introspect`: the provider's own
 *   answer for an inactive token (401 `invalid_token`; `{ active: false }`);
 * - a JWT access token at `/oauth2/userinfo`: 401 `invalid_token`, as the provider answers one;
 * - a JWT access token or a refresh token at `/oauth2/introspect`: `{ active: false }` (not a
 *   refresh token held by a client with pairwise subjects, whose answer does not say the user).
 *
 * The client is told what it is told of a grant the provider no longer honours, never why.
 * The first three refuse the user the provider has just read by primary key, through three of
 * its options (`customTokenResponseFields`, `customAccessTokenClaims`, `customUserInfoClaims`),
 * composed with the app's own at `init`, in a request of an instance with fusion-auth: no
 * statement of their own. Introspection reads the user of an `active: true` answer for a JWT
 * access token or a refresh token by primary key (and, with `pairwiseSecret` set, a refresh
 * token's client). A resource server that checks a JWT access token itself, against the JWKS,
 * asks nobody: such a token lives until it expires (the provider's `accessTokenExpiresIn`).
 */
import { APIError, createAuthMiddleware } from "better-auth/api"
import { lockOut, lockOutFields } from "../core/LockOut.ts"
import { composeOnce } from "./Composed.ts"
import { fusionAuthHere, isFusionAuthHere, lockedOutBehind, type LockOutContext, pluginOf, type WithPlugins } from "./LockOutReads.ts"

/** The provider's three options that are handed the user it has just read (`undefined` for a client's own token). */
type Callback = (input: { readonly user?: unknown; readonly jwt?: { readonly cnf?: { readonly jkt?: unknown } } }) => unknown
type Option = "customTokenResponseFields" | "customAccessTokenClaims" | "customUserInfoClaims"
type ProviderOptions = { [K in Option]?: Callback | undefined } & { readonly pairwiseSecret?: unknown }

const PROVIDER_ID = "oauth-provider"

/** The provider's own words for a token it does not honour (its `createInvalidAccessTokenError`). */
const INVALID_ACCESS_TOKEN = "Invalid access token"

const refusals: { readonly [K in Option]: { readonly refusal: (input: Parameters<Callback>[0]) => APIError; readonly none: unknown } } = {
  // Every user grant issues through it, before a refresh token rotates or anything is written.
  customTokenResponseFields: {
    refusal: () => new APIError("BAD_REQUEST", { error: "invalid_grant", error_description: "invalid grant" }),
    none: undefined
  },
  // An opaque access token's validation: the provider answers this as an inactive token (userinfo's 401, introspection's `active: false`).
  customAccessTokenClaims: {
    refusal: () => new APIError("BAD_REQUEST", { error: "invalid_token", error_description: INVALID_ACCESS_TOKEN }),
    none: {}
  },
  // A JWT access token at userinfo (validated without its user): 401, with the scheme the token is bound to.
  customUserInfoClaims: {
    refusal: (input) => {
      const scheme = typeof input.jwt?.cnf?.jkt === "string" ? "DPoP" : "Bearer"
      return new APIError("UNAUTHORIZED", { error: "invalid_token", error_description: INVALID_ACCESS_TOKEN }, {
        "WWW-Authenticate": `${scheme} error="invalid_token", error_description="${INVALID_ACCESS_TOKEN}"`,
        "Access-Control-Expose-Headers": "WWW-Authenticate"
      })
    },
    none: {}
  }
}

const lockedOut = (user: unknown) =>
  typeof user === "object" && user !== null && lockOut(lockOutFields(user as Record<string, unknown>), Date.now()) !== undefined

/** The provider's options as the auth instance's `plugins` have them (`undefined`: no provider). */
const providerOptions = (options: WithPlugins) =>
  pluginOf(options, PROVIDER_ID)?.options as ProviderOptions | undefined

/** The provider's options, each of the three with a locked-out user refused before the app's own; changed in place, at `init`. */
export const guardOAuthProvider = (options: WithPlugins): void => {
  const provider = providerOptions(options)
  if (provider === undefined) return
  for (const option of Object.keys(refusals) as Array<Option>) {
    const { refusal, none } = refusals[option]
    composeOnce<Option, Callback>(provider, option, (app) => async (input) => {
      if (lockedOut(input.user) && (await fusionAuthHere())) throw refusal(input)
      return app === undefined ? none : app(input)
    })
  }
}

/**
 * The user a JWT access token names (`sub`: the user's own id, whatever the client's subjects),
 * read without checking the signature: only once the provider has found the token active, and
 * only when it is the token the answer describes (the same `exp`).
 */
const jwtSubject = (token: unknown, answer: { readonly exp?: unknown }): string | undefined => {
  if (typeof token !== "string") return undefined
  const parts = token.replace(/^(?:bearer|dpop)\s+/i, "").split(".")
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8")) as { sub?: unknown; exp?: unknown } | null
    return typeof payload?.sub === "string" && payload.exp === answer.exp ? payload.sub : undefined
  } catch {
    return undefined
  }
}

/**
 * The user a refresh token's answer names: its `sub`, which is the user's id unless the client
 * that holds it has pairwise subjects (the provider's `pairwiseSecret` set, and the client's
 * `subjectType` "pairwise", read through Better Auth's adapter by the provider's own model).
 */
const refreshSubject = async (ctx: LockOutContext, answer: { readonly sub: string; readonly client_id?: unknown }): Promise<string | undefined> => {
  if (providerOptions(ctx.context.options)?.pairwiseSecret === undefined) return answer.sub
  if (typeof answer.client_id !== "string") return undefined
  const client = await ctx.context.adapter.findOne<{ subjectType?: unknown }>({ model: "oauthClient", where: [{ field: "clientId", value: answer.client_id }] })
  return client === null || client.subjectType === "pairwise" ? undefined : answer.sub
}

/**
 * `/oauth2/introspect`'s `active: true` for a user's token (not a client's own, whose `sub` is
 * the client): `{ active: false }` while that user is locked out. An opaque access token's
 * user was judged as the provider read it (`customAccessTokenClaims`; its answer has `azp`);
 * a JWT access token's is its `sub`; a refresh token's is the answer's, unless the client's
 * subjects are pairwise: then it is not known here, and the answer stands (the token itself
 * is refused at `/oauth2/token`).
 */
export const introspectionHook = {
  matcher: (ctx: { readonly path?: string }) => ctx.path === "/oauth2/introspect",
  handler: createAuthMiddleware(async (raw) => {
    const ctx = raw as unknown as LockOutContext & { readonly body?: { readonly token?: unknown } }
    const answer = ctx.context.returned as { readonly active?: unknown; readonly sub?: unknown; readonly client_id?: unknown; readonly azp?: unknown; readonly exp?: unknown } | null | undefined
    if (answer?.active !== true || typeof answer.sub !== "string" || answer.sub === answer.client_id || !isFusionAuthHere(ctx)) return
    const sub = answer.sub
    const userId = jwtSubject(ctx.body?.token, answer) ?? (answer.azp == null ? await refreshSubject(ctx, { ...answer, sub }) : undefined)
    if (userId !== undefined && (await lockedOutBehind(ctx, { userId })) !== undefined) return ctx.json({ active: false })
  })
}
