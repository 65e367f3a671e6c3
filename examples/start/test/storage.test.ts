/**
 * The example's `secondaryStorage` (src/lib/storage.ts, the `redis` client) on the machine's
 * Redis: what Better Auth and fusion-auth's rate limits rely on. `increment` answers every
 * count exactly once under concurrent callers and sets the expiry only when it made the key;
 * values round-trip with and without an expiry.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { connectRedis, type Redis } from "../../../test/support/redis.ts"
import { redisStorage, type RedisStorage } from "../src/lib/storage.ts"

const url = process.env.REDIS_URL || "redis://127.0.0.1:6379"
const prefix = `fusion-example-storage:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`
let app: RedisStorage
let redis: Redis

describe("the example's Redis secondaryStorage", () => {
  beforeAll(async () => {
    app = redisStorage(url, prefix)
    redis = await connectRedis(url)
  })
  afterAll(async () => {
    await app.close()
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.close()
  })

  it("increment: 200 concurrent callers get 1 to 200, each once; the expiry is set by the first only", async () => {
    const counts = await Promise.all(Array.from({ length: 200 }, () => app.storage.increment!("count", 60)))
    assert.deepStrictEqual([...counts].sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1))
    const ttl = await redis.ttl(`${prefix}count`)
    assert.isTrue(ttl > 55 && ttl <= 60, `expiry set when the key was made (${ttl})`)
    assert.strictEqual(await app.storage.increment!("count", 5), 201)
    assert.isTrue((await redis.ttl(`${prefix}count`)) > 55, "a later increment leaves the expiry alone")
    assert.strictEqual(await app.storage.increment!("other", 0.4), 1)
    const pttl = Number(await redis.command("PTTL", `${prefix}other`))
    assert.isTrue(pttl > 0 && pttl <= 1000, `under a second: one second, never a key that lives for ever (${pttl} ms)`)
    for (const bad of [Number.NaN, Infinity]) {
      const refused = await Promise.resolve(app.storage.increment!("never", bad)).then(() => undefined, (error: unknown) => error)
      assert.match(String(refused), /ttl must be a number of seconds/)
    }
    assert.isNull(await app.storage.get("never"), "nothing counted for a bad ttl")
  })

  it("a count found without an expiry (left by a crash between commands, say) is given one", async () => {
    await redis.command("SET", `${prefix}stale`, "7")
    assert.strictEqual(await app.storage.increment!("stale", 30), 8)
    assert.isTrue((await redis.ttl(`${prefix}stale`)) > 25)
  })

  it("get, set with and without an expiry, getAndDelete, delete", async () => {
    await app.storage.set("kept", "a")
    await app.storage.set("expiring", "b", 30)
    assert.strictEqual(await app.storage.get("kept"), "a")
    assert.strictEqual(await redis.ttl(`${prefix}kept`), -1)
    assert.isTrue((await redis.ttl(`${prefix}expiring`)) > 25)
    assert.strictEqual(await app.storage.getAndDelete!("expiring"), "b")
    assert.isNull(await app.storage.get("expiring"))
    await app.storage.delete("kept")
    assert.isNull(await app.storage.get("kept"))
  })
})
