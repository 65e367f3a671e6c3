/**
 * Better Auth's `secondaryStorage` on Redis, with the `redis` client from npm: used by auth.ts
 * when `REDIS_URL` is set (config.ts). Better Auth then keeps sessions in Redis rather than in
 * the `session` table, and fusion-auth hands each cookie to `auth.api.getSession`; deactivation,
 * bans and tokens are still decided from the database on every request.
 *
 * Every key is under `prefix`, so several apps (or test runs) can share one Redis.
 */
import type { BetterAuthOptions } from "better-auth"
import { type CommandParser, createClient, defineScript } from "redis"

type SecondaryStorage = NonNullable<BetterAuthOptions["secondaryStorage"]>

export interface RedisStorage {
  readonly storage: SecondaryStorage
  /** Closes the connection (after the commands already sent are answered). */
  readonly close: () => Promise<void>
}

/**
 * One count in one round trip and one command: INCR, and the expiry when this INCR created
 * the key (or found one without an expiry), atomic as every script is. (A MULTI of INCR and
 * EXPIRE … NX is as atomic but four commands to send and answer.)
 */
const incrementWithin = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: "local n = redis.call('INCR', KEYS[1]) if n == 1 or redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n",
  parseCommand: (parser: CommandParser, key: string, ttl: number) => {
    parser.pushKey(key)
    parser.push(String(ttl))
  },
  transformReply: (reply: unknown) => Number(reply)
})

export const redisStorage = (url: string, prefix: string): RedisStorage => {
  const client = createClient({ url, scripts: { incrementWithin } })
  // Without a listener, a lost connection would crash the process; the client reconnects by itself,
  // and a command that fails meanwhile fails its request (a 5xx), never a silent "signed out".
  client.on("error", (error: Error) => console.error(`fusion-auth example: Redis: ${error.message}`))
  const connected = client.connect()
  const redis = async () => (await connected, client)
  return {
    storage: {
      get: async (key) => (await redis()).get(prefix + key),
      getAndDelete: async (key) => (await redis()).getDel(prefix + key),
      set: async (key, value, ttl) => {
        // `ttl` is in seconds; Better Auth passes none (or 0) for a value that does not expire.
        const seconds = ttl === undefined ? 0 : Math.floor(ttl)
        await (await redis()).set(prefix + key, value, seconds >= 1 ? { expiration: { type: "EX", value: seconds } } : undefined)
      },
      delete: async (key) => {
        await (await redis()).del(prefix + key)
      },
      // Atomic (incrementWithin, above): what Better Auth's rate limits and fusion-auth's count with.
      increment: async (key, ttl) => {
        // A count that never expires would refuse for ever: refused before anything is counted.
        if (!Number.isFinite(ttl)) throw new RangeError(`increment: ttl must be a number of seconds, not ${ttl}`)
        return (await redis()).incrementWithin(prefix + key, Math.max(1, Math.floor(ttl)))
      }
    },
    close: async () => {
      await connected.catch(() => undefined)
      if (client.isOpen) await client.close()
    }
  }
}
