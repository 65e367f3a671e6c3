/**
 * The Better Auth client plugin: `createAuthClient({ plugins: [fusionAuthClient()] })` gives
 * `authClient.fusionAuth.tokens.list()`, `.create({ name, scopes, expiresIn })`,
 * `.revoke({ tokenId })` and `.rotate({ tokenId, gracePeriod, expiresIn })`, their inputs and
 * results inferred from the server plugin (`$InferServerPlugin`), as `@better-auth/api-key` does.
 *
 * It carries no server code: the server plugin is a type here, the error codes a plain object.
 */
import type { BetterAuthClientPlugin } from "better-auth/client"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { PLUGIN_ID } from "../core/Session.ts"
import type { fusionAuth } from "./plugin.ts"

export const fusionAuthClient = () =>
  ({
    id: PLUGIN_ID,
    $InferServerPlugin: {} as ReturnType<typeof fusionAuth>,
    pathMethods: {
      "/fusion-auth/tokens/list": "GET",
      "/fusion-auth/tokens/create": "POST",
      "/fusion-auth/tokens/revoke": "POST",
      "/fusion-auth/tokens/rotate": "POST"
    },
    $ERROR_CODES: ERROR_CODES
  }) satisfies BetterAuthClientPlugin
