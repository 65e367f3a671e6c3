/**
 * Better Auth's `secondaryStorage` on the machine's Redis (`REDIS_URL`, else
 * redis://127.0.0.1:6379): the example app's own (`examples/start/src/lib/storage.ts`, the
 * `redis` client, `increment` as one script: `INCR`, and `EXPIRE` when it made the key), as an app runs it,
 * under a key prefix of this run's. `close` deletes the run's keys, then disconnects.
 */
import { createClient } from "redis"
import { redisStorage as appStorage } from "../examples/start/src/lib/storage.ts"

/** The server the Redis contender counts in. */
export const redisUrl = (): string => process.env.REDIS_URL || "redis://127.0.0.1:6379"

export interface RedisStorage {
  readonly storage: ReturnType<typeof appStorage>["storage"]
  /** Deletes every key under this storage's prefix, then closes the connection. */
  readonly close: () => Promise<void>
}

/** The example's storage under a fresh prefix, `fusion-bench:<pid>:<random>:`. */
export const redisStorage = (url: string = redisUrl()): RedisStorage => {
  const prefix = `fusion-bench:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`
  const app = appStorage(url, prefix)
  return {
    storage: app.storage,
    close: async () => {
      await app.close()
      const client = createClient({ url, socket: { reconnectStrategy: false } })
      client.on("error", () => undefined) // reported by the failed command
      await client.connect()
      try {
        for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
          if (keys.length > 0) await client.unlink(keys)
        }
      } finally {
        await client.close()
      }
    }
  }
}
