/**
 * The app's auth, wired as docs/sessions.md says: Better Auth with email and password, the
 * fusion-auth plugin (then `tanstackStartCookies()`, which must come last), and
 * `createAuthSession(auth)` for the helpers; middleware.ts makes the Start middleware from it.
 *
 * Choices of this app, not of fusion-auth:
 * - roles come from Better Auth's `admin` plugin (its `role` field, bans, its `/admin/*`
 *   endpoints): the first account to sign up becomes the site admin; every later one is a
 *   member (admin.ts). A banned user is refused like a deactivated one, on both credentials.
 * - sessions live in Redis (Better Auth's `secondaryStorage`) when `REDIS_URL` is set.
 * - token scopes (tokenPolicy.ts): `read`, `write` and `admin:users`, the last for admins only;
 *   a token lives 90 days at most.
 * (A deactivated user cannot sign in again: `fusionAuth()` refuses to open their session.)
 */
import { betterAuth } from "better-auth"
import { admin } from "better-auth/plugins/admin"
import { adminAc, userAc } from "better-auth/plugins/admin/access"
import { tanstackStartCookies } from "better-auth/tanstack-start"
import { betterAuthDatabase, createAuthSession, fusionAuth, type SessionOf } from "fusion-auth"
import { ADMIN_ROLES, DEFAULT_ROLE } from "./admin.ts"
import { authSecret, baseURL, rateLimitOff, redis } from "./config.ts"
import { redisStorage } from "./storage.ts"
import { tokenPolicy } from "./tokenPolicy.ts"

const sessionStore = redis === undefined ? undefined : redisStorage(redis.url, redis.prefix)

export const auth = betterAuth({
  database: betterAuthDatabase(), // DATABASE_URL, or the embedded PGlite in .data/fusion-auth when it is unset
  secret: authSecret(),
  baseURL,
  telemetry: { enabled: false },
  emailAndPassword: { enabled: true },
  ...(rateLimitOff ? { rateLimit: { enabled: false } } : {}),
  ...(sessionStore ? { secondaryStorage: sessionStore.storage } : {}),
  databaseHooks: {
    user: {
      create: {
        // After the admin plugin's own hook, which gives `defaultRole` unless an admin chose one
        // (`/admin/create-user`): the first account is the admin.
        before: async (user, context) => {
          const users = await context?.context.adapter.count({ model: "user" })
          const role = typeof user.role === "string" && user.role !== "" ? user.role : DEFAULT_ROLE
          return { data: { ...user, role: users === 0 ? ADMIN_ROLES[0]! : role } }
        }
      }
    }
  },
  plugins: [
    fusionAuth(),
    // The plugin's access control, with its "user" role named "member" here.
    admin({ defaultRole: DEFAULT_ROLE, adminRoles: [...ADMIN_ROLES], roles: { admin: adminAc, member: userAc } }),
    tanstackStartCookies()
  ]
})

export const authSession = createAuthSession(auth, { tokens: tokenPolicy })

export const { getSession, requireSession, withSession, run, runtime, tokens, users, migrate } = authSession

/** Closes the runtime, Better Auth's pool and the embedded database, then Redis when in use. */
export const dispose = (): Promise<void> => authSession.dispose().finally(() => sessionStore?.close())

/** A caller of this app: Better Auth's `user` with the admin plugin's `role`, from a cookie or a token. */
export type AppSession = SessionOf<typeof auth>
