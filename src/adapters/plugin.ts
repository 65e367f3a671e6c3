/**
 * The Better Auth plugin: declares `deactivatedAt` and `deprovisionedAt` on Better Auth's
 * `user` table, so Better Auth reads them with every session and its own `user` type carries
 * them; opens no new session and links no account for a locked-out user (deactivated, or banned: `core/LockOut.ts`), nor writes
 * what an identity provider says of them (`NothingNew.ts`); refuses a locked-out user's session
 * on Better Auth's own endpoints (`LockOutGuard.ts`) and a change of their address by a mailed
 * link (`EmailChangeGuard.ts`), nor serves them through the tokens Better Auth's OAuth provider
 * gave other apps (`OAuthProviderGuard.ts`), nor registers a passkey for them without a session
 * (`PasskeyGuard.ts`), nor finishes their sign-in at its second factor (`TwoFactorGuard.ts`); takes a
 * directory's `active: false` (SCIM) as a deactivation (`ScimGuard.ts`); and serves the caller's own API tokens (`TokenEndpoints.ts`),
 * typed for the client plugin (`fusion-auth/client`).
 *
 * `createAuthSession` refuses an auth instance without this plugin: without it, the cookie
 * path could not see deactivation at all. It also connects the token endpoints to its runtime.
 */
import type { BetterAuthPlugin } from "better-auth"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { PLUGIN_ID } from "../core/Session.ts"
import { emailChangeHook } from "./EmailChangeGuard.ts"
import { guardOtherHooks, lockOutHooks } from "./LockOutGuard.ts"
import { databaseHooks, gateUserInfo } from "./NothingNew.ts"
import { guardOAuthProvider, introspectionHook } from "./OAuthProviderGuard.ts"
import { guardPasskeyRegistration } from "./PasskeyGuard.ts"
import { guardScim } from "./ScimGuard.ts"
import { type TokenBackend, tokenEndpoints, type TokenLink } from "./TokenEndpoints.ts"

/** Each plugin instance's slot that its token endpoints read the runtime from. */
const links = new WeakMap<object, TokenLink>()

export const fusionAuth = () => {
  const link: TokenLink = { backends: [] }
  const plugin = {
    id: PLUGIN_ID,
    schema: {
      user: {
        fields: {
          deactivatedAt: { type: "date", required: false, input: false },
          // The directory's own deactivation (Better Auth's SCIM plugin), kept apart from the app's: `ScimGuard.ts`.
          deprovisionedAt: { type: "date", required: false, input: false }
        }
      }
    },
    init: (ctx) => {
      // Sessions another plugin's hook (api-key's) or the app's own opens are refused for a locked-out user too.
      guardOtherHooks(ctx.options, plugin)
      gateUserInfo(ctx.options)
      // Better Auth's OAuth provider: its clients' tokens for a locked-out user serve nothing.
      guardOAuthProvider(ctx.options)
      // Nor is a passkey registered without a session written for a locked-out user.
      guardPasskeyRegistration(ctx.options)
      // A directory's `active: false` (Better Auth's SCIM plugin) locks the user out as a deactivation does.
      guardScim(ctx.options)
      return { options: { databaseHooks } }
    },
    hooks: { before: [...lockOutHooks.before, emailChangeHook], after: [...lockOutHooks.after, introspectionHook] },
    endpoints: tokenEndpoints(link),
    $ERROR_CODES: ERROR_CODES
  } satisfies BetterAuthPlugin
  links.set(plugin, link)
  return plugin
}

/**
 * Serves the token endpoints of `auth`'s fusion-auth plugin from `backend` (the runtime of
 * `createAuthSession(auth)`); returns the undo, for when that runtime is disposed.
 */
export const connectTokenEndpoints = (
  auth: { readonly options: { readonly plugins?: ReadonlyArray<object> | undefined } },
  backend: TokenBackend
): () => void => {
  const link = auth.options.plugins?.map((plugin) => links.get(plugin)).find((l) => l !== undefined)
  if (link === undefined) return () => undefined
  link.backends.push(backend)
  return () => {
    const at = link.backends.indexOf(backend)
    if (at >= 0) link.backends.splice(at, 1)
  }
}
