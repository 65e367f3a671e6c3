/**
 * Better Auth's api-key plugin with `enableSessionForAPIKeys`, beside fusion-auth, on real
 * Better Auth over PGlite and Postgres. Such a key is a session of its user at every Better Auth
 * endpoint (its plugin's before-hook opens it, and answers `/get-session` itself), so it is a
 * door to the same powers as the user's cookie: a locked-out user's key is refused there (401,
 * `/get-session` included), whichever order the plugins are listed in, and changes nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { apiKey } from "@better-auth/api-key"
import { type BetterAuthPlugin, betterAuth } from "better-auth"
import { admin } from "better-auth/plugins"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { decide } from "../src/core/NativeCookie.ts"
import { quietOptions } from "./support/auth.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"

const BASE = "http://localhost:3000"
let emails = 0

for (const backend of sqlBackends) {
  describe(`Better Auth's api-key plugin, keys as sessions, on ${backend.name}`, () => {
    let db: TestDatabase
    const opened: Array<() => Promise<void>> = []
    beforeAll(async () => {
      db = await backend.make()
    })
    afterAll(async () => {
      for (const close of opened.reverse()) await close()
      await db?.close()
    })

    /** Better Auth with `plugins` on the test database, migrated. */
    const authWith = async (plugins: ReadonlyArray<BetterAuthPlugin>) => {
      const pool = testPool(db.url, 2)
      const auth = betterAuth({
        ...quietOptions(pool),
        plugins: plugins as [ReturnType<typeof fusionAuth>]
      })
      await migrate(auth, { url: db.url })
      opened.push(() => pool.end())
      return { auth, pool }
    }
    const keysAsSessions = () => apiKey({ enableSessionForAPIKeys: true, rateLimit: { enabled: false } })

    /** A user and their key on `auth`. */
    const keyOf = async (auth: { readonly api: object }) => {
      const api = auth.api as unknown as {
        signUpEmail(input: unknown): Promise<{ user: { id: string } }>
        createApiKey(input: unknown): Promise<{ key: string }>
      }
      const { user } = await api.signUpEmail({ body: { email: `key${++emails}@example.com`, password: "correct horse battery", name: "Kay" } })
      return { userId: user.id, key: (await api.createApiKey({ body: { userId: user.id } })).key }
    }

    /** A call to Better Auth's endpoint `path` with the key, as a script sends it: status, and code or the answer's user. */
    const callWith = (auth: { handler(request: Request): Promise<Response> }, key: string) => async (path: string, body?: unknown) => {
        const response = await auth.handler(new Request(`${BASE}/api/auth${path}`, {
          method: body === undefined ? "GET" : "POST",
          headers: { "x-api-key": key, origin: BASE, "content-type": "application/json" },
          body: body === undefined ? null : JSON.stringify(body)
        }))
        const answer = (await response.json()) as { code?: string; user?: { id: string } } | null
        return { status: response.status, code: answer?.code, userId: answer?.user?.id }
      }

    /** Better Auth with the admin and api-key plugins, fusion-auth listed `first` or last; a user and their key. */
    const world = async (first: boolean) => {
      const others = [admin(), keysAsSessions()]
      const { auth, pool } = await authWith(first ? [fusionAuth(), ...others] : [...others, fusionAuth()])
      const app = createAuthSession(auth, { database: { url: db.url } })
      opened.push(() => app.dispose())
      const { userId, key } = await keyOf(auth)
      const call = callWith(auth, key)
      const name = async () => (await pool.query<{ name: string }>(`select "name" from "user" where "id" = $1`, [userId])).rows[0]!.name
      return { auth, app, pool, userId, key, call, name }
    }

    for (const first of [true, false]) {
      it(`fusionAuth() listed ${first ? "first" : "last"}: a key acts as its user until they are deactivated or banned, then every endpoint refuses it, and it changes nothing of the user's`, async () => {
        const w = await world(first)
        // The door is open: the key is its user's session at Better Auth's endpoints and at the choke point.
        assert.deepInclude(await w.call("/get-session"), { status: 200, userId: w.userId })
        assert.deepInclude(await w.call("/update-user", { name: "Renamed" }), { status: 200 })
        assert.strictEqual(await w.name(), "Renamed")
        assert.strictEqual((await w.app.getSession(new Headers({ "x-api-key": w.key })))?.user.id, w.userId)

        await w.app.users.deactivate(w.userId)
        for (const [path, body] of [["/get-session"], ["/update-user", { name: "Stolen" }], ["/list-sessions"], ["/revoke-other-sessions", {}]] as const) {
          assert.deepInclude(await w.call(path, body), { status: 401, code: "USER_DEACTIVATED" }, path)
        }
        assert.strictEqual(await w.name(), "Renamed", "the refused update changed nothing")
        const refused = await w.app.resolve(new Headers({ "x-api-key": w.key }))
        assert.deepInclude("error" in refused ? refused.error : {}, { _tag: "Deactivated", userId: w.userId, reason: "deactivated" })

        await w.app.users.reactivate(w.userId)
        assert.deepInclude(await w.call("/get-session"), { status: 200, userId: w.userId })

        // The admin plugin's ban, as its own endpoint writes it.
        await w.pool.query(`update "user" set "banned" = true where "id" = $1`, [w.userId])
        assert.deepInclude(await w.call("/get-session"), { status: 401, code: "USER_BANNED" })
        assert.deepInclude(await w.call("/update-user", { name: "Stolen" }), { status: 401, code: "USER_BANNED" })
        assert.strictEqual(await w.name(), "Renamed")
      })
    }

    it("the native cookie path: on beside the plugin as it comes (keys are not sessions); handed over, as the app's own choice, when keys are sessions", async () => {
      const decided = async (auth: { readonly $context: Promise<unknown> }) => {
        const context = (await auth.$context) as { version?: string }
        return decide(context, context.version)
      }
      assert.strictEqual((await decided((await authWith([admin(), apiKey(), fusionAuth()])).auth))._tag, "Native")
      assert.deepStrictEqual(await decided((await authWith([admin(), keysAsSessions(), fusionAuth()])).auth), {
        _tag: "HandOver",
        reason: `plugin "api-key" answers getSession itself, as configured`,
        differs: false
      })
      // One configuration of several that makes keys sessions, under a header of its own: handed over too.
      const several = apiKey([{ configId: "keys" }, { configId: "sessions", enableSessionForAPIKeys: true, apiKeyHeaders: "x-service-key" }])
      assert.strictEqual((await decided((await authWith([admin(), several, fusionAuth()])).auth))._tag, "HandOver")
    })

    it("an api-key plugin object shared with a Better Auth instance without fusion-auth: that instance answers as Better Auth alone", async () => {
      const shared = keysAsSessions()
      const withFusion = await authWith([admin(), shared, fusionAuth()])
      const alone = await authWith([admin(), shared])
      await Promise.all([withFusion.auth.$context, alone.auth.$context]) // both initialised
      const { userId, key } = await keyOf(alone.auth)
      await alone.pool.query(`update "user" set "banned" = true where "id" = $1`, [userId])
      assert.deepInclude(await callWith(alone.auth, key)("/get-session"), { status: 200, userId }, "Better Auth alone serves a banned user's key")
      assert.deepInclude(await callWith(withFusion.auth, key)("/get-session"), { status: 401, code: "USER_BANNED" })
    })
  })
}
