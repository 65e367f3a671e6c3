/**
 * Better Auth with `secondaryStorage` on the machine's real Redis (sessions live in Redis, not
 * in the `session` table), behind `createAuthSession`: a cookie of such a session is handed to
 * Better Auth's `getSession`, and fusion-auth still decides deactivation from the database.
 * Sign-in resolves; sign-out, revoking every session and deactivation take effect on the very
 * next request. Statements (on the Postgres wire) and Redis calls (counted in the storage
 * wrapper) per resolution are printed and kept in test-results/reliability/redis-*.json.
 *
 * Each test gets its own Better Auth instance on its own key prefix, and deletes its keys after.
 */
import { assert, describe, it } from "@effect/vitest"
import type { BetterAuthPlugin } from "better-auth"
import { admin } from "better-auth/plugins"
import { Exit } from "effect"
import { afterAll, afterEach, beforeAll } from "vitest"
import { SessionResolver } from "../src/effect.ts"
import { createAuthSession, migrate } from "../src/index.ts"
import { impersonate, makeAuth } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"
import { connectRedis, type Redis } from "./support/redis.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"
import { record } from "./reliability/support/figures.ts"
import { label, outcomeOf } from "./reliability/world.ts"

const PASSWORD = "correct horse battery"

/** Better Auth's secondaryStorage over `redis`, under `prefix`, counting each call. */
const storage = (redis: Redis, prefix: string) => {
  const calls = { get: 0, set: 0, delete: 0, getAndDelete: 0, increment: 0 }
  return {
    calls,
    reset: () => Object.assign(calls, { get: 0, set: 0, delete: 0, getAndDelete: 0, increment: 0 }),
    secondaryStorage: {
      get: (key: string) => (calls.get++, redis.get(prefix + key)),
      getAndDelete: (key: string) => (calls.getAndDelete++, redis.getdel(prefix + key)),
      increment: (key: string, ttl: number) => (calls.increment++, redis.incr(prefix + key, ttl)),
      set: (key: string, value: string, ttl?: number) => (calls.set++, redis.set(prefix + key, value, ttl)),
      delete: async (key: string) => {
        calls.delete++
        await redis.del(prefix + key)
      }
    }
  }
}

let prefixes = 0
/** This run's keys: `fusion-auth-test:<pid>:<start time>:…`. */
const RUN = `fusion-auth-test:${process.pid}:${Date.now()}:`
let emails = 0

describe("the test's Redis client (test/support/redis.ts)", () => {
  it("round-trips values byte for byte, with expiry, GETDEL, INCR and SCAN, and counts its calls", async () => {
    const redis = await connectRedis()
    const prefix = `fusion-auth-test:${process.pid}:client:${Date.now()}:`
    try {
      const value = "é€ line\r\nnext $5\r\n*2 \u0000 end"
      await redis.set(`${prefix}a`, value, 60)
      assert.strictEqual(await redis.get(`${prefix}a`), value)
      const ttl = await redis.ttl(`${prefix}a`)
      assert.isTrue(ttl > 0 && ttl <= 60, `ttl ${ttl}`)
      await redis.set(`${prefix}b`, "")
      assert.strictEqual(await redis.get(`${prefix}b`), "")
      assert.strictEqual(await redis.ttl(`${prefix}b`), -1)
      assert.isNull(await redis.get(`${prefix}missing`))
      assert.strictEqual(await redis.ttl(`${prefix}missing`), -2)
      assert.strictEqual(await redis.getdel(`${prefix}a`), value)
      assert.isNull(await redis.get(`${prefix}a`))
      assert.strictEqual(await redis.incr(`${prefix}n`, 30), 1)
      assert.strictEqual(await redis.incr(`${prefix}n`, 30), 2)
      assert.isTrue((await redis.ttl(`${prefix}n`)) > 0)
      const many = await Promise.all(Array.from({ length: 200 }, (_, i) => redis.set(`${prefix}k${i}`, String(i)).then(() => redis.get(`${prefix}k${i}`))))
      assert.deepStrictEqual(many, Array.from({ length: 200 }, (_, i) => String(i)), "pipelined replies arrive in order")
      assert.strictEqual((await redis.keys(`${prefix}*`)).length, 202)
      await redis.command("NO-SUCH-COMMAND").then(() => assert.fail("an error reply resolved"), (error: Error) => assert.strictEqual(error.name, "RedisError"))
      assert.strictEqual(await redis.command("PING"), "PONG", "the connection survives an error reply")
      assert.strictEqual(redis.calls().GET, 204)
    } finally {
      await redis.del(...(await redis.keys(`${prefix}*`)))
      await redis.close()
    }
  })
})

for (const backend of sqlBackends) {
  describe(`Better Auth secondaryStorage on real Redis, ${backend.name}`, () => {
    let db: TestDatabase
    let wire: WireCounter
    let redis: Redis
    let prefix: string
    const opened: Array<{ dispose(): Promise<void> }> = []

    beforeAll(async () => {
      redis = await connectRedis()
      assert.strictEqual(await redis.command("PING"), "PONG")
      db = await backend.make()
      wire = await countStatements(db.url)
      prefix = `${RUN}migrate:`
      const { auth, pool } = makeAuth(wire.url, { secondaryStorage: storage(redis, prefix).secondaryStorage })
      await migrate(auth, { url: wire.url })
      await pool.end()
    })
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((o) => o.dispose()))
      const left = await redis.keys(`${prefix}*`)
      await redis.del(...left)
      assert.deepStrictEqual(await redis.keys(`${prefix}*`), [], "this test's keys are gone")
    })
    afterAll(async () => {
      if (redis) await redis.del(...(await redis.keys(`${RUN}*`)))
      await wire?.close()
      await db?.close()
      await redis?.close()
    })

    /** A world on its own key prefix: Better Auth (with `plugins`, migrated for them), the runtime, a signed-in user. */
    const world = async (plugins: ReadonlyArray<BetterAuthPlugin> = []) => {
      prefix = `${RUN}${++prefixes}:`
      const store = storage(redis, prefix)
      const { auth, pool } = makeAuth(wire.url, { secondaryStorage: store.secondaryStorage, plugins })
      if (plugins.length > 0) await migrate(auth, { url: wire.url })
      const app = createAuthSession(auth, { database: { url: wire.url }, tokens: { lastUsedInterval: "1 hour" } })
      opened.push({ dispose: async () => (await app.dispose(), await pool.end()) })
      const email = `redis${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`
      const { user } = await auth.api.signUpEmail({ body: { email, password: PASSWORD, name: "Redis" } })
      const signIn = async () => {
        const { headers } = await auth.api.signInEmail({ body: { email, password: PASSWORD }, returnHeaders: true })
        return headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
      }
      const resolve = async (cookie: string) => {
        wire.reset()
        store.reset()
        const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers({ cookie }))))
        const outcome = outcomeOf(exit)
        return {
          seen: outcome.kind === "session" ? (outcome.userId === user.id ? "session" : "another user") : label(outcome),
          statements: wire.statements().length,
          redis: { ...store.calls }
        }
      }
      return { auth, app, pool, userId: user.id, signIn, resolve, store }
    }

    it("sign-in resolves, from the session Redis holds (no session table)", async () => {
      const w = await world()
      const cookie = await w.signIn()
      const { rows } = await w.pool.query<{ table: string | null }>(`select to_regclass('"session"')::text as "table"`)
      assert.isNull(rows[0]!.table, "with secondaryStorage Better Auth keeps no session table")
      const keys = await redis.keys(`${prefix}*`)
      assert.isAbove(keys.length, 0, "Better Auth wrote the session to Redis")
      const runs = []
      for (let i = 0; i < 5; i++) runs.push(await w.resolve(cookie))
      for (const run of runs) assert.strictEqual(run.seen, "session")
      record(`redis-${backend.name}-resolution`, {
        backend: backend.name,
        resolutions: runs.length,
        statementsPerResolution: runs.map((r) => r.statements),
        redisCallsPerResolution: runs.map((r) => r.redis)
      })
      for (const run of runs) {
        assert.isAtLeast(run.redis.get, 1, "the session came from Redis")
        assert.strictEqual(run.redis.set + run.redis.delete + run.redis.getAndDelete + run.redis.increment, 0, "a resolution writes nothing to Redis")
        assert.isAtLeast(run.statements, 1, "deactivation is read from the database")
      }
    })

    it("sign-out takes effect at once", async () => {
      const w = await world()
      const cookie = await w.signIn()
      const kept = await w.signIn()
      assert.strictEqual((await w.resolve(cookie)).seen, "session")
      await w.auth.api.signOut({ headers: new Headers({ cookie }) })
      const after = await w.resolve(cookie)
      record(`redis-${backend.name}-after-sign-out`, { backend: backend.name, statements: after.statements, redisCalls: after.redis })
      assert.strictEqual(after.seen, "Anonymous")
      assert.strictEqual((await w.resolve(kept)).seen, "session", "the user's other session is untouched")
    })

    it("revoking every session takes effect at once", async () => {
      const w = await world()
      const one = await w.signIn()
      const two = await w.signIn()
      assert.strictEqual((await w.resolve(one)).seen, "session")
      assert.strictEqual((await w.resolve(two)).seen, "session")
      await w.auth.api.revokeSessions({ headers: new Headers({ cookie: one }) })
      assert.strictEqual((await w.resolve(one)).seen, "Anonymous")
      assert.strictEqual((await w.resolve(two)).seen, "Anonymous")
    })

    it("impersonation, the session only in Redis: it acts as the user but mints no token, and the admin's lock-out ends it", async () => {
      const w = await world([admin()])
      await w.pool.query(`update "user" set "role" = 'admin' where "id" = $1`, [w.userId])
      const { user: target } = await w.auth.api.signUpEmail({ body: { email: `target${++emails}@example.com`, password: PASSWORD, name: "Target" } })
      const cookie = await impersonate(w.auth, await w.signIn(), target.id)
      const { rows } = await w.pool.query<{ table: string | null }>(`select to_regclass('"session"')::text as "table"`)
      assert.isNull(rows[0]!.table, "the impersonation's session is only in Redis")
      const resolved = () => w.app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers({ cookie }))))
      const served = await resolved()
      assert.isTrue(Exit.isSuccess(served), String(served))
      const session = Exit.isSuccess(served) ? served.value : undefined
      assert.strictEqual(session?.user.id, target.id)
      assert.strictEqual(session?.session?.impersonatedBy, w.userId, "read from the session Redis holds")
      const minted = await w.app.tokens.create({ caller: session!, name: "borrowed" }).then(() => "minted", (e: { _tag?: string }) => e._tag)
      assert.strictEqual(minted, "ImpersonationRefused")
      assert.deepStrictEqual(await w.app.tokens.list(target.id), [], "nothing was written for the user")
      await w.app.users.deactivate(w.userId)
      const refused = await resolved()
      assert.deepInclude(Exit.isFailure(refused) ? (Exit.findErrorOption(refused) as any).value : {}, { _tag: "Deactivated", userId: w.userId })
    })

    it("deactivation takes effect at once, and reactivation restores the same cookie", async () => {
      const w = await world()
      const cookie = await w.signIn()
      assert.strictEqual((await w.resolve(cookie)).seen, "session")
      await w.app.users.deactivate(w.userId)
      const refused = await w.resolve(cookie)
      record(`redis-${backend.name}-after-deactivation`, { backend: backend.name, statements: refused.statements, redisCalls: refused.redis })
      assert.strictEqual(refused.seen, "Deactivated")
      await w.app.users.reactivate(w.userId)
      assert.strictEqual((await w.resolve(cookie)).seen, "session")
    })
  })
}
