/**
 * The app's `src/lib/auth.ts` for tests, with no database: the same `createAuthSession` and
 * token policy, the real choke point (`SessionResolver.layer`), and memory layers for tokens
 * and users. A browser's cookie is `test-session=<user id>`, read by a memory `CookieSource`.
 *
 * Swapped in with `vi.mock("#/lib/auth", () => import("./support/auth.ts"))`.
 */
import { betterAuth } from "better-auth"
import { Effect, Layer, Option } from "effect"
import { CookieSource, SessionResolver, Stores } from "fusion-auth/effect"
import { createAuthSession, fusionAuth, type SessionRow, type User } from "fusion-auth"
import { MemoryDatabase } from "fusion-auth/testing"
import { tokenPolicy } from "#/lib/tokenPolicy"

/** Never reached by the code under test here (sign-in and the user list are covered end to end). */
export const auth = betterAuth({
  secret: "unit-test-secret-unit-test-secret-0123",
  baseURL: "http://app.test",
  telemetry: { enabled: false },
  plugins: [fusionAuth()]
})

const COOKIE = /(?:^|;\s*)test-session=([^;]+)/

const sessionRow = (user: User): SessionRow => ({
  id: `session-${user.id}`,
  userId: user.id,
  token: "better-auth-session-token",
  expiresAt: new Date(Date.now() + 86_400_000),
  createdAt: user.createdAt,
  updatedAt: user.createdAt
})

const cookies = Layer.effect(
  CookieSource,
  Effect.gen(function*() {
    const db = yield* MemoryDatabase
    return CookieSource.of({
      get: (headers) =>
        Effect.sync(() => {
          const id = COOKIE.exec(headers.get("cookie") ?? "")?.[1]
          const user = id === undefined ? undefined : db.users.get(id)
          // The row was read just now, so its lock-out fields decide (no second read).
          return user === undefined ? Option.none() : Option.some({ user, session: sessionRow(user), lock: user })
        }),
      // No bearer() plugin in these tests: a Bearer value that is not a token stays malformed.
      bearer: undefined
    })
  })
)

// The layer needs the token policy and secret (`Stores.Settings`): createAuthSession gives it the app's own.
const layer = SessionResolver.layer.pipe(Layer.provide(cookies), Layer.provideMerge(Stores.layerMemory))

export const { getSession, requireSession, withSession, run, runtime, tokens, users, migrate, dispose } =
  createAuthSession(auth, { layer, tokens: tokenPolicy })

let n = 0
/** A new user, as sign-up would leave it, and the headers of a browser signed in as them. */
export const signedUp = async (role: "admin" | "member" = "member") => {
  n++
  const now = new Date()
  const user = await run(MemoryDatabase.addUser({
    id: `user-${n}`,
    name: `User ${n}`,
    email: `user${n}@example.com`,
    emailVerified: false,
    createdAt: now,
    updatedAt: now,
    deactivatedAt: null,
    role
  }))
  return { user, cookie: `test-session=${user.id}` }
}
