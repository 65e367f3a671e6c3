/**
 * A minimal Redis client over `node:net` (RESP2): enough commands for Better Auth's
 * `secondaryStorage` and a test's cleanup, pipelined in order on one connection, each call
 * counted by command name. The tests use the machine's Redis (`REDIS_URL`, default
 * `redis://127.0.0.1:6379`); none of them skips when it is down.
 */
import net from "node:net"

export type Reply = string | number | null | ReadonlyArray<Reply>

export class RedisError extends Error {
  override readonly name = "RedisError"
}

export interface Redis {
  command(...args: ReadonlyArray<string | number>): Promise<Reply>
  get(key: string): Promise<string | null>
  /** `SET key value [EX ttl]`; a ttl under one second is stored without expiry, as Better Auth passes none. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>
  /** `GETDEL`: the value, deleted in the same step. */
  getdel(key: string): Promise<string | null>
  /** `INCR`, with `EXPIRE ttl` when it created the key, in one step (a script). */
  incr(key: string, ttlSeconds: number): Promise<number>
  del(...keys: ReadonlyArray<string>): Promise<number>
  /** Seconds left; -1 without expiry; -2 when the key does not exist. */
  ttl(key: string): Promise<number>
  /** Every key matching `pattern` (SCAN, so never blocks the server). */
  keys(pattern: string): Promise<ReadonlyArray<string>>
  /** Commands sent since the last `resetCalls`, by name (`GET`, `SET`, …). */
  calls(): Readonly<Record<string, number>>
  resetCalls(): void
  close(): Promise<void>
}

const CRLF = Buffer.from("\r\n")

/** One reply from `buf` at `at`: the value and where the next starts, or `undefined` when incomplete. */
const parse = (buf: Buffer, at: number): [Reply | RedisError, number] | undefined => {
  const eol = buf.indexOf(CRLF, at)
  if (eol === -1) return undefined
  const type = String.fromCharCode(buf[at]!)
  const line = buf.toString("utf8", at + 1, eol)
  switch (type) {
    case "+":
      return [line, eol + 2]
    case "-":
      return [new RedisError(line), eol + 2]
    case ":":
      return [Number(line), eol + 2]
    case "$": {
      const length = Number(line)
      if (length < 0) return [null, eol + 2]
      if (buf.length < eol + 2 + length + 2) return undefined
      return [buf.toString("utf8", eol + 2, eol + 2 + length), eol + 2 + length + 2]
    }
    case "*": {
      const count = Number(line)
      if (count < 0) return [null, eol + 2]
      const items: Array<Reply> = []
      let next = eol + 2
      for (let i = 0; i < count; i++) {
        const item = parse(buf, next)
        if (item === undefined) return undefined
        if (item[0] instanceof RedisError) throw item[0]
        items.push(item[0])
        next = item[1]
      }
      return [items, next]
    }
    default:
      throw new RedisError(`unexpected reply type ${JSON.stringify(type)}`)
  }
}

const encode = (args: ReadonlyArray<string | number>): Buffer => {
  const parts: Array<Buffer> = [Buffer.from(`*${args.length}\r\n`)]
  for (const arg of args) {
    const bytes = Buffer.from(String(arg))
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF)
  }
  return Buffer.concat(parts)
}

export const connectRedis = async (url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"): Promise<Redis> => {
  const target = new URL(url)
  const socket = net.connect(Number(target.port || 6379), target.hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve)
    socket.once("error", (error) => reject(new RedisError(`Redis at ${target.host} is not answering: ${error.message}`)))
  })
  const waiting: Array<{ resolve: (reply: Reply) => void; reject: (error: Error) => void }> = []
  let pending: Buffer = Buffer.alloc(0)
  let failed: Error | undefined
  let counted: Record<string, number> = {}
  const failAll = (error: Error) => {
    failed ??= error
    for (const w of waiting.splice(0)) w.reject(failed)
  }
  socket.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    let at = 0
    try {
      for (;;) {
        const parsed = parse(pending, at)
        if (parsed === undefined) break
        at = parsed[1]
        const w = waiting.shift()
        if (w === undefined) throw new RedisError("a reply nobody asked for")
        if (parsed[0] instanceof RedisError) w.reject(parsed[0])
        else w.resolve(parsed[0])
      }
    } catch (error) {
      failAll(error as Error)
      socket.destroy()
    }
    pending = pending.subarray(at)
  })
  socket.on("error", failAll)
  socket.on("close", () => failAll(new RedisError("the Redis connection closed")))

  const command = (...args: ReadonlyArray<string | number>) =>
    new Promise<Reply>((resolve, reject) => {
      if (failed) return reject(failed)
      const name = String(args[0]).toUpperCase()
      counted[name] = (counted[name] ?? 0) + 1
      waiting.push({ resolve, reject })
      socket.write(encode(args))
    })
  if (target.password) await command("AUTH", decodeURIComponent(target.password))
  if (target.pathname.length > 1) await command("SELECT", target.pathname.slice(1))
  counted = {}

  return {
    command,
    get: async (key) => (await command("GET", key)) as string | null,
    set: async (key, value, ttlSeconds) => {
      const seconds = ttlSeconds === undefined ? 0 : Math.floor(ttlSeconds)
      await (seconds >= 1 ? command("SET", key, value, "EX", seconds) : command("SET", key, value))
    },
    getdel: async (key) => (await command("GETDEL", key)) as string | null,
    incr: async (key, ttlSeconds) =>
      (await command("EVAL", "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n", 1, key, Math.max(1, Math.floor(ttlSeconds)))) as number,
    del: async (...keys) => (keys.length === 0 ? 0 : (await command("DEL", ...keys)) as number),
    ttl: async (key) => (await command("TTL", key)) as number,
    keys: async (pattern) => {
      const found: Array<string> = []
      let cursor = "0"
      do {
        const [next, batch] = (await command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)) as [string, ReadonlyArray<string>]
        cursor = next
        found.push(...batch)
      } while (cursor !== "0")
      return found
    },
    calls: () => ({ ...counted }),
    resetCalls: () => {
      counted = {}
    },
    close: async () => {
      if (failed) return
      await command("QUIT").catch(() => undefined)
      socket.destroy()
    }
  }
}
