/**
 * The native cookie path answers exactly what Better Auth's `getSession` answers (cookie
 * cache disabled), over generated states on real Better Auth and real Postgres: valid, the
 * expiry boundary and 1 ms either side, expired, deleted, user deleted, deactivated, refresh
 * due, tampered, wrong secret, another cookie prefix, duplicate cookies, don't-remember.
 *
 * Time is frozen (`Date` only) at T for both sides: Better Auth reads `new Date()`, the
 * native path Effect's `Clock`, which reads `Date.now()`.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { Exit } from "effect"
import fc from "fast-check"
import pg from "pg"
import { afterAll, beforeAll, vi } from "vitest"
import { SessionResolver } from "../src/effect.ts"
import { serialize } from "../src/core/SignedCookie.ts"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { signUp } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"

const SECRET = "test-secret-test-secret-test-secret-0123"
const NAME = "better-auth.session_token"
const DONT_REMEMBER = "better-auth.dont_remember"
const EXPIRES_IN = 7 * 24 * 3600
const UPDATE_AGE = 24 * 3600

const makeAuth = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on("error", () => undefined)
  const auth = betterAuth({
    database: pool,
    secret: SECRET,
    baseURL: "http://localhost:3000",
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true },
    user: {
      additionalFields: {
        role: { type: "string", defaultValue: "member", input: false },
        secretNote: { type: "string", required: false, returned: false, input: false }
      }
    },
    session: { additionalFields: { device: { type: "string", required: false, input: false } } },
    plugins: [fusionAuth()]
  })
  return { auth, pool }
}

const STATES = [
  "valid", "boundary", "expired", "deleted", "userDeleted", "deactivated", "refreshDue", "refreshBoundary",
  "unsignedDontRemember", "forgedDontRemember", "tampered", "wrongSecret", "otherPrefix", "duplicateFirst", "duplicateSecond"
] as const
type State = typeof STATES[number]

const caseOf = fc.record({
  state: fc.constantFrom(...STATES),
  delta: fc.constantFrom(-1, 0, 1),
  dontRemember: fc.boolean()
})

/**
 * Every state once, and each boundary (expiry, refresh) at each side with and without
 * don't-remember, before the generated ones.
 */
const examples = [
  ...STATES.map((state) => [{ state, delta: 0, dontRemember: false }] as [typeof caseOf extends fc.Arbitrary<infer C> ? C : never]),
  ...(["boundary", "refreshBoundary"] as const).flatMap((state) =>
    [-1, 0, 1].flatMap((delta) => [true, false].map((dontRemember) => [{ state: state as State, delta, dontRemember }] as [{ state: State; delta: number; dontRemember: boolean }]))
  )
]

/** A `dont_remember` cookie Better Auth would not take: unsigned, or with a signature that does not hold. */
const FORGED_DONT_REMEMBER = { unsignedDontRemember: "true", forgedDontRemember: encodeURIComponent(`true.${"A".repeat(43)}=`) }

let emails = 0
const email = () => `eq${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

for (const backend of sqlBackends) {
  describe(`native cookie path ≡ Better Auth's getSession on ${backend.name}`, () => {
    let db: TestDatabase
    let wire: WireCounter
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>

    beforeAll(async () => {
      db = await backend.make()
      wire = await countStatements(db.url)
      setup = makeAuth(wire.url)
      await migrate(setup.auth, { url: wire.url })
      app = createAuthSession(setup.auth, { database: { url: wire.url } })
    })
    afterAll(async () => {
      vi.useRealTimers()
      await app.dispose()
      await setup.pool.end()
      await wire.close()
      await db.close()
    })

    it("answers as Better Auth in every generated state", async () => {
      const seen = new Map<string, number>()
      const { userId, cookie: firstCookie } = await signUp(setup.auth as never, email())
      const address = (await setup.pool.query(`select "email" from "user" where "id" = $1`, [userId])).rows[0].email as string
      await setup.pool.query(`update "user" set "secretNote" = 'hidden' where "id" = $1`, [userId])
      assert.include(firstCookie, NAME)

      await fc.assert(fc.asyncProperty(caseOf, async ({ state, delta, dontRemember: asked }) => {
        vi.useRealTimers()
        // A forged don't-remember cookie rides on a remembered session: it must not stop the refresh.
        const forgedDontRemember = state === "unsignedDontRemember" || state === "forgedDontRemember"
        const dontRemember = asked && !forgedDontRemember
        let owner = userId
        let login = address
        if (state === "userDeleted") {
          login = email()
          owner = (await signUp(setup.auth as never, login)).userId
        }
        const { headers: signedIn } = await setup.auth.api.signInEmail({
          body: { email: login, password: "correct horse battery", rememberMe: !dontRemember },
          returnHeaders: true
        })
        const jar = new Map(signedIn.getSetCookie().map((c) => c.split(";")[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]))
        const token = decodeURIComponent(jar.get(NAME)!).split(".")[0]!
        await setup.pool.query(`update "session" set "device" = 'laptop' where "token" = $1`, [token])
        const T = Date.now() + 1000
        const setExpiry = (at: number) => setup.pool.query(`update "session" set "expiresAt" = $1 where "token" = $2`, [new Date(at), token])
        const real = jar.get(NAME)!
        let sessionCookie = `${NAME}=${real}`
        switch (state as State) {
          case "boundary": await setExpiry(T + delta); break
          case "expired": await setExpiry(T - 24 * 3600 * 1000); break
          case "deleted": await setup.pool.query(`delete from "session" where "token" = $1`, [token]); break
          case "userDeleted": await setup.pool.query(`delete from "user" where "id" = $1`, [owner]); break
          case "deactivated": await setup.pool.query(`update "user" set "deactivatedAt" = now() where "id" = $1`, [owner]); break
          case "refreshDue": await setExpiry(T + (EXPIRES_IN - UPDATE_AGE) * 1000 - 1000); break
          // Due exactly when expiresAt - expiresIn + updateAge <= now: at the boundary itself, and a millisecond before.
          case "refreshBoundary": await setExpiry(T + (EXPIRES_IN - UPDATE_AGE) * 1000 + delta); break
          case "unsignedDontRemember":
          case "forgedDontRemember":
            await setExpiry(T + (EXPIRES_IN - UPDATE_AGE) * 1000 - 1000)
            jar.set(DONT_REMEMBER, FORGED_DONT_REMEMBER[state as keyof typeof FORGED_DONT_REMEMBER])
            break
          case "tampered": sessionCookie = `${NAME}=${encodeURIComponent(`${token}.${"A".repeat(43)}=`)}`; break
          case "wrongSecret": sessionCookie = `${NAME}=${serialize(token, "another-secret-another-secret-0000")}`; break
          case "otherPrefix": sessionCookie = `other-app.session_token=${real}`; break
          case "duplicateFirst": sessionCookie = `${NAME}=${real}; ${NAME}=${serialize("forged", SECRET)}`; break
          case "duplicateSecond": sessionCookie = `${NAME}=${serialize("forged", SECRET)}; ${NAME}=${real}`; break
        }
        const extra = [...jar].filter(([name]) => name !== NAME).map(([name, value]) => `${name}=${value}`)
        const headers = new Headers({ cookie: [sessionCookie, ...extra].join("; ") })

        vi.useFakeTimers({ toFake: ["Date"], now: T })
        wire.reset()
        const native = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(headers)))
        const cost = [...wire.statements()]
        const ours = await setup.auth.api.getSession({ headers, query: { disableCookieCache: true } })
        vi.useRealTimers()
        if (state === "deactivated") await setup.pool.query(`update "user" set "deactivatedAt" = null where "id" = $1`, [owner])
        const key = state === "boundary" || state === "refreshBoundary" ? `${state} ${delta > 0 ? "+" : ""}${delta} ms` : state
        seen.set(key, (seen.get(key) ?? 0) + 1)

        // What each state must be, so that agreeing on "nothing" cannot pass for agreement.
        const live = ["valid", "refreshDue", "refreshBoundary", "unsignedDontRemember", "forgedDontRemember", "duplicateFirst"].includes(state) ||
          (state === "boundary" && delta >= 0)
        // A locked-out user's live session: Better Auth's /get-session answers null too (the plugin's hook).
        if (state === "deactivated") assert.isNull(ours, key)
        else assert.strictEqual(ours !== null, live, `${key}: Better Auth answered ${ours === null ? "null" : "a session"}`)

        if (state === "deactivated") {
          assert.strictEqual(Exit.isFailure(native) && (Exit.findErrorOption(native) as any).value?._tag, "Deactivated", key)
        } else if (ours === null) {
          assert.isTrue(Exit.isFailure(native), key)
          assert.strictEqual(Exit.isFailure(native) && (Exit.findErrorOption(native) as any).value?._tag, "Anonymous", key)
        } else {
          assert.isTrue(Exit.isSuccess(native), key)
          const value = Exit.isSuccess(native) ? native.value : undefined
          assert.deepStrictEqual(value!.user, ours.user, key)
          assert.deepStrictEqual(value!.session, ours.session, key)
          assert.strictEqual((ours.user as Record<string, unknown>).role, "member")
          assert.notProperty(ours.user, "secretNote")
          assert.strictEqual((ours.session as Record<string, unknown>).device, "laptop")
        }
        // The native path owned the answer (one statement, no write) unless a refresh was due.
        const due = !dontRemember && (state === "refreshDue" || forgedDontRemember || (state === "refreshBoundary" && delta <= 0) ||
          (state === "boundary" && delta >= 0))
        if (due) assert.isTrue(cost.some((s) => s.write), `${key}: the refresh was not handed to Better Auth`)
        else assert.isAtMost(cost.length, 1, `${key}: ${cost.map((s) => s.text.slice(0, 80)).join(" | ")}`)
        assert.isFalse(!due && cost.some((s) => s.write), key)
      }), { numRuns: 60, examples })

      const total = [...seen.values()].reduce((a, b) => a + b, 0)
      console.info(`cookie equivalence on ${backend.name}: ${total} cases: ${[...seen].map(([k, n]) => `${k} ${n}`).join(", ")}`)
      assert.isAtLeast(total, 60)
      for (const state of STATES.filter((s) => s !== "boundary" && s !== "refreshBoundary")) assert.isTrue(seen.has(state), state)
      for (const state of ["boundary", "refreshBoundary"]) {
        for (const key of [`${state} -1 ms`, `${state} 0 ms`, `${state} +1 ms`]) assert.isTrue(seen.has(key), key)
      }
    }, 240_000)
  })
}
