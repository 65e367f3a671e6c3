/**
 * How the drivers connect to a database server: fusion-auth's own settings (`pooler`,
 * `connection_limit`, `idle_timeout`), from the `database` options or the URL, taken off the URL so no
 * driver sees a parameter it does not know.
 */
import { Config, ConfigProvider, Effect, Redacted } from "effect"

/** fusion-auth's own connection settings, part of the `database` options. */
export interface ConnectionOptions {
  /**
   * What sits between the app and Postgres. `"transaction"`: a transaction pooler (PgBouncer's
   * `pool_mode = transaction`, Supabase's pooler on port 6543, Neon's `-pooler` host), where a
   * named prepared statement made on one server connection is missing on the next: fusion-auth
   * then sends every statement unnamed, and one at a time per connection (pipelining would keep
   * a server connection from ever going back to the pooler). Default `"none"` (or `"session"`:
   * the same). The URL form is `?pooler=transaction`.
   */
  readonly pooler?: "none" | "session" | "transaction" | undefined
  /**
   * Connections per pool in each process: fusion-auth's own and Better Auth's (from
   * `betterAuthDatabase`) each open up to this many, so one process opens up to twice it.
   * Default 16. The URL form is `?connection_limit=4`.
   */
  readonly maxConnections?: number | undefined
  /**
   * Milliseconds a connection to a server stays open unused before its pool closes it, for
   * fusion-auth's pool and Better Auth's (from `betterAuthDatabase`). Unset: a minute for
   * fusion-auth's, 10 s for Better Auth's (pg's default). Shorter frees the server sooner and
   * lets a process that never calls `dispose()` end sooner; longer spares a quiet app new
   * connections. The URL form is `?idle_timeout=30`, in seconds.
   */
  readonly idleConnectionTimeout?: number | undefined
}

/** How the drivers connect: the URL without fusion-auth's own parameters, and what those and the options say. */
export interface Connection {
  readonly url: Redacted.Redacted<string>
  readonly prepare: boolean
  /** Whether concurrent statements may share a connection, pipelined: not behind a transaction pooler. */
  readonly multiplex: boolean
  readonly maxConnections: number
  /** `idleConnectionTimeout`, checked; `undefined`: each pool's own default. */
  readonly idleTimeoutMs: number | undefined
}

const POOLERS = ["none", "session", "transaction"] as const

/** fusion-auth's own pool's `idleConnectionTimeout` when none is set (`@effect/sql-pg`'s default): a quiet spell between bursts pays no new connections. */
export const IDLE_TIMEOUT_MS = 60_000

const badSetting = (message: string) => new Config.ConfigError(new ConfigProvider.SourceError({ message: `fusion-auth: ${message}` }))

/**
 * Reads `pooler`, `connection_limit` and `idle_timeout` off a URL (the options win) and takes them out of it,
 * so no driver sees a parameter it does not know. A bad value is a `ConfigError`, named.
 */
export const connection = (url: Redacted.Redacted<string>, options: ConnectionOptions): Effect.Effect<Connection, Config.ConfigError> =>
  Effect.gen(function*() {
    const parsed = URL.canParse(Redacted.value(url)) ? new URL(Redacted.value(url)) : undefined
    const param = (name: string) => parsed?.searchParams.get(name) ?? undefined
    const pooler = options.pooler ?? param("pooler") ?? "none"
    if (!(POOLERS as ReadonlyArray<string>).includes(pooler)) {
      return yield* Effect.fail(badSetting(`pooler must be one of ${POOLERS.join(", ")}`))
    }
    const limit = options.maxConnections ?? (param("connection_limit") === undefined ? 16 : Number(param("connection_limit")))
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1_000) {
      return yield* Effect.fail(badSetting("connection_limit must be a whole number from 1 to 1000"))
    }
    const idleParam = param("idle_timeout")
    const idle = options.idleConnectionTimeout ?? (idleParam === undefined ? undefined : Number(idleParam) * 1000)
    if (idle !== undefined && !(Number.isSafeInteger(idle) && idle >= 1)) {
      return yield* Effect.fail(badSetting("idle_timeout (seconds) and idleConnectionTimeout (milliseconds) must be whole numbers, at least 1"))
    }
    const own = ["pooler", "connection_limit", "idle_timeout"]
    if (parsed !== undefined && own.some((name) => parsed.searchParams.has(name))) {
      for (const name of own) parsed.searchParams.delete(name)
      url = Redacted.make(parsed.toString())
    }
    const direct = pooler !== "transaction"
    return { url, prepare: direct, multiplex: direct, maxConnections: limit, idleTimeoutMs: idle }
  })
