/**
 * Rate limits shared through Better Auth's `secondaryStorage` on real Redis: two instances of
 * the app (two Better Auth instances, two runtimes, one database) hold one token's limit and
 * one user's limit between them, within 1%; and a Redis stopped, or frozen, in the middle of
 * a run: failing closed every request is refused with the 503 and none is given a session,
 * failing open every one is admitted as its own user. Figures go to
 * test-results/reliability/rate-limit-*.json.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, migrate, type RateLimitOptions } from "../src/index.ts"
import { makeAuth } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"
import { freePort } from "./support/net.ts"
import { connectRedis, type Redis } from "./support/redis.ts"
import { record } from "./reliability/support/figures.ts"

const HOUR = 3_600_000
const RUN = `fusion-auth-test:${process.pid}:${Date.now()}:rate:`
const PASSWORD = "correct horse battery"

/** Better Auth's secondaryStorage over `redis`, every key under `prefix`. */
const storage = (redis: Redis, prefix: string) => ({
  get: (key: string) => redis.get(prefix + key),
  getAndDelete: (key: string) => redis.getdel(prefix + key),
  increment: (key: string, ttl: number) => redis.incr(prefix + key, ttl),
  set: (key: string, value: string, ttl?: number) => redis.set(prefix + key, value, ttl),
  delete: async (key: string) => void (await redis.del(prefix + key))
})

/** Waits, if need be, so that the next seconds stay in one window of the hour. */
const awayFromEdge = async () => {
  const left = HOUR - (Date.now() % HOUR)
  if (left < 30_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

/** A Redis server of this test's own, to stop and freeze. */
const ownRedis = async () => {
  const port = await freePort()
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" })
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    const client = await connectRedis(url).catch(() => undefined)
    if (client) {
      await client.close()
      return { url, child }
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.kill("SIGKILL")
  throw new Error("redis-server did not start")
}

const backend = sqlBackends.at(-1)! // real Postgres when DATABASE_URL is set

describe(`rate limits shared through secondaryStorage on real Redis, ${backend.name}`, () => {
  let db: TestDatabase
  const closing: Array<() => Promise<unknown>> = []
  const children: Array<ChildProcess> = []

  beforeAll(async () => {
    db = await backend.make()
    const { auth, pool } = makeAuth(db.url)
    await migrate(auth, { url: db.url })
    await pool.end()
  }, 120_000)
  afterAll(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined)
    for (const child of children) child.kill("SIGKILL")
    const redis = await connectRedis()
    await redis.del(...(await redis.keys(`${RUN}*`)))
    await redis.close()
    await db?.close()
  })

  /** One instance of the app: its own Better Auth, Redis connection and runtime, on the shared database. */
  const instance = async (rateLimit: RateLimitOptions, redisUrl?: string) => {
    const redis = await connectRedis(redisUrl)
    const { auth, pool } = makeAuth(db.url, { secondaryStorage: storage(redis, RUN) })
    const app = createAuthSession(auth, { database: { url: db.url }, tokens: { rateLimit, lastUsedInterval: "1 hour" } })
    closing.push(() => redis.close(), () => pool.end(), () => app.dispose())
    return { auth, app }
  }

  /** A user and `count` tokens of theirs, made on `app`. */
  const owner = async (app: Awaited<ReturnType<typeof instance>>, count: number) => {
    const email = `rate.${Math.random().toString(36).slice(2, 10)}@example.com`
    const { user } = await app.auth.api.signUpEmail({ body: { email, password: PASSWORD, name: "Rate" } })
    const tokens = []
    for (let i = 0; i < count; i++) tokens.push(Redacted.value((await app.app.tokens.create({ userId: user.id, name: `t${i}` })).token))
    return { userId: user.id, tokens }
  }

  const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` })
  /** `requireSession`'s answer: the user id, or the thrown response's status. */
  const through = (app: Awaited<ReturnType<typeof instance>>, token: string) =>
    app.app.requireSession(bearer(token)).then((s) => s.user.id, (thrown: Response) => thrown.status)

  it("two instances hold one token's limit, and one user's limit across tokens, within 1%", async () => {
    await awayFromEdge()
    const a = await instance({ requests: 300, window: "1 hour", perUser: 500 })
    const b = await instance({ requests: 300, window: "1 hour", perUser: 500 })
    const one = await owner(a, 1)
    const answers = await Promise.all(Array.from({ length: 600 }, (_, i) => through(i % 2 === 0 ? a : b, one.tokens[0]!)))
    const admitted = answers.filter((x) => x === one.userId).length
    assert.deepStrictEqual(new Set(answers), new Set([one.userId, 429]), "admitted as its own user, or 429")

    const many = await owner(b, 3)
    const perUser = await Promise.all(Array.from({ length: 900 }, (_, i) => through(i % 2 === 0 ? a : b, many.tokens[i % 3]!)))
    const userAdmitted = perUser.filter((x) => x === many.userId).length
    record("rate-limit-two-instances", { backend: backend.name, token: { limit: 300, sent: 600, admitted }, user: { limit: 500, sent: 900, admitted: userAdmitted } })
    assert.isTrue(Math.abs(admitted - 300) <= 3, `one token's limit of 300: ${admitted} admitted`)
    assert.isTrue(Math.abs(userAdmitted - 500) <= 5, `one user's limit of 500: ${userAdmitted} admitted`)
  })

  it("Redis stopped mid-run: failing closed, 503s and never a session; failing open, every request its own user", async () => {
    await awayFromEdge()
    const server = await ownRedis()
    children.push(server.child)
    const closed = await instance({ requests: 1_000_000, window: "1 hour" }, server.url)
    const open = await instance({ requests: 1_000_000, window: "1 hour", onStorageFailure: "open" }, server.url)
    const { userId, tokens } = await owner(closed, 1)
    const token = tokens[0]!
    type When = "before" | "during" | "after"
    const outcomes: Array<{ readonly mode: "closed" | "open"; readonly when: When; readonly answer: string | number }> = []
    let killedAt = Infinity
    let goneAt = Infinity
    const started = Date.now()
    const load = (async () => {
      while (Date.now() - started < 3000) {
        const from = Date.now()
        const wave = await Promise.all(Array.from({ length: 10 }, (_, i) => through(i % 2 ? open : closed, token)))
        // Before: answered before the kill was sent; after: sent once the server had exited.
        const when: When = Date.now() < killedAt ? "before" : from > goneAt ? "after" : "during"
        wave.forEach((answer, i) => outcomes.push({ mode: i % 2 ? "open" : "closed", when, answer }))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    killedAt = Date.now()
    server.child.kill("SIGKILL")
    await new Promise((resolve) => server.child.once("exit", resolve))
    goneAt = Date.now()
    await load
    const tally = (mode: string, when: When) =>
      outcomes.filter((o) => o.mode === mode && o.when === when)
        .reduce<Record<string, number>>((t, o) => ({ ...t, [o.answer === userId ? "owner" : String(o.answer)]: (t[o.answer === userId ? "owner" : String(o.answer)] ?? 0) + 1 }), {})
    const figures = Object.fromEntries((["before", "during", "after"] as const).flatMap((when) => [[`closed ${when}`, tally("closed", when)], [`open ${when}`, tally("open", when)]]))
    record("rate-limit-redis-stopped", { backend: backend.name, ...figures })
    assert.deepStrictEqual(Object.keys(figures["closed before"]!), ["owner"], "before the stop, every request admitted")
    assert.deepStrictEqual(Object.keys(figures["open before"]!), ["owner"])
    assert.deepStrictEqual(Object.keys(figures["closed after"]!), ["503"], "closed: refused, never a session")
    assert.deepStrictEqual(Object.keys(figures["open after"]!), ["owner"], "open: admitted as its own user")
    for (const key of Object.keys(figures["closed during"]!)) assert.include(["owner", "503"], key)
    assert.deepStrictEqual(Object.keys(figures["open during"]!).filter((k) => k !== "owner"), [])
    assert.isAbove(figures["closed after"]!["503"]!, 10)
  })

  it("Redis frozen: a count that hangs is given up after storageTimeout; when it thaws, counting resumes", async () => {
    await awayFromEdge()
    const server = await ownRedis()
    children.push(server.child)
    const closed = await instance({ requests: 1_000_000, window: "1 hour", storageTimeout: "300 millis" }, server.url)
    const open = await instance({ requests: 1_000_000, window: "1 hour", storageTimeout: "300 millis", onStorageFailure: "open" }, server.url)
    const { userId, tokens } = await owner(closed, 1)
    assert.strictEqual(await through(closed, tokens[0]!), userId)
    server.child.kill("SIGSTOP")
    try {
      const at = Date.now()
      const [c, o] = await Promise.all([through(closed, tokens[0]!), through(open, tokens[0]!)])
      const waited = Date.now() - at
      assert.deepStrictEqual([c, o], [503, userId])
      assert.isTrue(waited >= 290 && waited < 3000, `answered after ${waited} ms`)
    } finally {
      server.child.kill("SIGCONT")
    }
    assert.strictEqual(await through(closed, tokens[0]!), userId, "counted again once Redis answers")
  })
})
