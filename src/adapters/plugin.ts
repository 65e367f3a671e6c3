/**
 * The Better Auth plugin: declares `deactivatedAt` on Better Auth's `user` table, so Better
 * Auth reads it with every session and its own `user` type carries it; and refuses to open a
 * new session (sign-in, sign-up) for a deactivated user.
 *
 * `createAuthSession` refuses an auth instance without this plugin: without it, the cookie
 * path could not see deactivation at all.
 */
import type { BetterAuthPlugin } from "better-auth"
import { APIError } from "better-auth/api"
import { PLUGIN_ID } from "../core/Session.ts"

/** What a deactivated user is told when they try to sign in. */
export const DEACTIVATED_MESSAGE = "This account is deactivated."

export const fusionAuth = () =>
  ({
    id: PLUGIN_ID,
    schema: {
      user: {
        fields: {
          deactivatedAt: { type: "date", required: false, input: false }
        }
      }
    },
    init: () => ({
      options: {
        databaseHooks: {
          session: {
            create: {
              before: async (session, context) => {
                const user = await context?.context.internalAdapter.findUserById(session.userId)
                if ((user as { deactivatedAt?: Date | null } | null)?.deactivatedAt != null) {
                  throw new APIError("FORBIDDEN", { message: DEACTIVATED_MESSAGE, code: "USER_DEACTIVATED" })
                }
              }
            }
          }
        }
      }
    })
  }) satisfies BetterAuthPlugin
