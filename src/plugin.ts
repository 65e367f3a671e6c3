/**
 * The Better Auth plugin: declares `deactivatedAt` on Better Auth's `user` table, so Better
 * Auth reads it with every session and its own `user` type carries it.
 *
 * `createAuthSession` refuses an auth instance without this plugin: without it, the cookie
 * path could not see deactivation at all.
 */
import type { BetterAuthPlugin } from "better-auth"

export const PLUGIN_ID = "fusion-auth"

export const fusionAuth = () =>
  ({
    id: PLUGIN_ID,
    schema: {
      user: {
        fields: {
          deactivatedAt: { type: "date", required: false, input: false }
        }
      }
    }
  }) satisfies BetterAuthPlugin
