/**
 * Better Auth's anonymous plugin, on real Better Auth over PGlite and Postgres. When an anonymous
 * user signs up or in, the plugin hands the anonymous account to the app (`onLinkAccount`: its
 * cart, its drafts) and deletes it. A locked-out anonymous user's data is not handed over and the
 * account is not deleted (a ban would go with it): at sign-in and sign-up the browser's
 * locked-out session cookie, and the cookie cache of an ended session, are taken off the
 * request, so the new account starts empty. An anonymous user who is not locked out links as
 * before.
 */
import { assert, describe, it } from "@effect/vitest"
import { type BetterAuthPlugin, betterAuth, type SecondaryStorage } from "better-auth"
import { admin, anonymous, bearer } from "better-auth/plugins"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { authRequest, jarAfter, quietOptions } from "./support/auth.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"

let emails = 0

for (const backend of sqlBackends) {
  describe(`the anonymous plugin, on ${backend.name}`, () => {
    let db: TestDatabase
    beforeAll(async () => {
      db = await backend.make()
    })
    afterAll(async () => {
      await db?.close()
    })

    for (const [cookieCache, storage] of [[false, false], [true, false], [false, true]] as const) {
      it(`cookie cache ${cookieCache ? "on" : "off"}${storage ? ", sessions in secondaryStorage" : ""}: an anonymous user links on sign-up; a deactivated one's data is not handed over nor the account deleted, and sign-up still works`, async () => {
        const world = await makeWorld(db.url, cookieCache, [], storage)
        try {
          const linked = await world.anonymous()
          const first = await world.signUp(linked.jar)
          assert.deepStrictEqual(world.links, [{ from: linked.userId, to: first.userId }])
          assert.isFalse(await world.exists(linked.userId), "the plugin deletes the anonymous account it handed over")

          const locked = await world.anonymous()
          await world.app.users.deactivate(locked.userId)
          const second = await world.signUp(locked.jar)
          assert.lengthOf(world.links, 1, "no hand-over of the deactivated anonymous account")
          assert.isTrue(await world.exists(locked.userId))
          assert.strictEqual((await world.app.getSession(new Headers({ cookie: second.jar })))?.user.id, second.userId)
        } finally {
          await world.close()
        }
      })
    }

    it("bearer() listed first, a browser holding a deactivated anonymous user's cookie and presenting another anonymous user's token: that user, who is not locked out, links", async () => {
      const world = await makeWorld(db.url, false, [bearer()])
      try {
        const locked = await world.anonymous()
        await world.app.users.deactivate(locked.userId)
        const other = await world.anonymous()
        const token = decodeURIComponent(other.jar.match(/better-auth\.session_token=([^;]+)/)![1]!)
        const signedUp = await world.signUp(locked.jar, { authorization: `Bearer ${token}` })
        assert.deepStrictEqual(world.links, [{ from: other.userId, to: signedUp.userId }])
        assert.isTrue(await world.exists(locked.userId))
      } finally {
        await world.close()
      }
    })

    it("cookie cache on, an anonymous user banned (the ban deletes their sessions; the browser still holds the cached copy): nothing handed over, the banned account and its ban kept", async () => {
      const world = await makeWorld(db.url, true)
      try {
        const banned = await world.anonymous()
        await world.pool.query(`update "user" set "banned" = true where "id" = $1`, [banned.userId])
        await world.pool.query(`delete from "session" where "userId" = $1`, [banned.userId])
        await world.signUp(banned.jar)
        assert.deepStrictEqual(world.links, [])
        assert.deepStrictEqual((await world.pool.query(`select "banned" from "user" where "id" = $1`, [banned.userId])).rows, [{ banned: true }])
      } finally {
        await world.close()
      }
    })
  })
}

/** Better Auth's `secondaryStorage` over a Map (expiries ignored: the test is shorter than any). */
const mapStorage = (): SecondaryStorage => {
  const values = new Map<string, string>()
  return {
    get: async (key) => values.get(key) ?? null,
    set: async (key, value) => void values.set(key, value),
    delete: async (key) => void values.delete(key),
    getAndDelete: async (key) => {
      const value = values.get(key) ?? null
      values.delete(key)
      return value
    },
    increment: async (key) => {
      const next = Number(values.get(key) ?? 0) + 1
      values.set(key, String(next))
      return next
    }
  }
}

const makeWorld = async (url: string, cookieCache: boolean, first: ReadonlyArray<BetterAuthPlugin> = [], storage = false) => {
  const pool = testPool(url, 2)
  const links: Array<{ from: string; to: string }> = []
  const auth = betterAuth({
    ...quietOptions(pool),
    session: { cookieCache: { enabled: cookieCache, maxAge: 300 } },
    // Sessions (with a copy of their user, made when the session was) in a store of their own, as with Redis.
    ...(storage ? { secondaryStorage: mapStorage() } : {}),
    plugins: [
      ...first,
      admin(),
      anonymous({ onLinkAccount: async ({ anonymousUser, newUser }) => void links.push({ from: anonymousUser.user.id, to: newUser.user.id }) }),
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const post = async (path: string, jar: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await auth.handler(authRequest(path, jar, body, headers))
    if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    return { userId: ((await response.json()) as { user: { id: string } }).user.id, jar: jarAfter(jar, response.headers.getSetCookie()) }
  }
  const anonymousUser = () => post("/sign-in/anonymous", "", {})
  const signUp = (jar: string, headers?: Record<string, string>) =>
    post("/sign-up/email", jar, { email: `anon${++emails}@example.com`, password: "correct horse battery", name: "Anon" }, headers)
  const exists = async (userId: string) => (await pool.query(`select 1 from "user" where "id" = $1`, [userId])).rowCount === 1
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, links, anonymous: anonymousUser, signUp, exists, close }
}
