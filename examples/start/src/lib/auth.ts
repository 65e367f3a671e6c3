/**
 * The app's auth, wired as docs/sessions.md says: Better Auth with email and password, the
 * fusion-auth plugin (then `tanstackStartCookies()`, which must come last), and
 * `createAuthSession(auth)` for the helpers; middleware.ts makes the Start middleware from it.
 *
 * Two choices of this app, not of fusion-auth:
 * - `role`: the first account to sign up becomes the site admin; every later one is a member.
 * - token scopes (tokenPolicy.ts): `read`, `write` and `admin:users`, the last for admins only;
 *   a token lives 90 days at most.
 * (A deactivated user cannot sign in again: `fusionAuth()` refuses to open their session.)
 */
import { betterAuth } from "better-auth"
import { tanstackStartCookies } from "better-auth/tanstack-start"
import { betterAuthDatabase, createAuthSession, fusionAuth, type SessionOf } from "fusion-auth"
import { authSecret, baseURL, rateLimitOff } from "./config.ts"
import { tokenPolicy } from "./tokenPolicy.ts"

export const auth = betterAuth({
  database: betterAuthDatabase(), // DATABASE_URL, or the embedded PGlite in .data/fusion-auth when it is unset
  secret: authSecret(),
  baseURL,
  telemetry: { enabled: false },
  emailAndPassword: { enabled: true },
  ...(rateLimitOff ? { rateLimit: { enabled: false } } : {}),
  user: {
    additionalFields: {
      role: { type: "string", required: false, input: false, defaultValue: "member" }
    }
  },
  databaseHooks: {
    user: {
      create: {
        before: async (user, context) => {
          const users = await context?.context.adapter.count({ model: "user" })
          return { data: { ...user, role: users === 0 ? "admin" : "member" } }
        }
      }
    }
  },
  plugins: [fusionAuth(), tanstackStartCookies()]
})

export const authSession = createAuthSession(auth, { tokens: tokenPolicy })

export const { getSession, requireSession, withSession, run, runtime, tokens, users, migrate, dispose } = authSession

/** A caller of this app: Better Auth's `user` with this app's `role`, from a cookie or a token. */
export type AppSession = SessionOf<typeof auth>
