/**
 * Where the database is: `DATABASE_URL` when set, otherwise an embedded PGlite kept in a
 * folder (default `.data/fusion-auth` under the working directory, or `FUSION_AUTH_DATA_DIR`),
 * so the same wire driver runs in development, tests and production with no server to install.
 *
 * One process owns a folder (`EmbeddedDatabase`: the lock, PGlite, its server on a Unix
 * socket only the folder's user can reach). In that process fusion-auth's `PgClient` and Better
 * Auth's pool (`betterAuthDatabase`) share it; another process refuses the folder, or, with
 * `connectToOwner` (the CLI), connects through the owner's socket. The database closes (its
 * scope) when the last user in the process lets go of it (`dispose()`), or at `closeEmbedded()`.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { resolve } from "node:path"
import type { Duplex } from "node:stream"
import { Config, Context, Effect, Exit, Layer, Logger, Option, Redacted, References, Scope } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { PostgresDialect } from "kysely"
import { connection, type ConnectionOptions, IDLE_TIMEOUT_MS } from "./Connection.ts"
import { backgroundLayer, closedWhenIdle, closeWhenIdle } from "../runtime/Background.ts"
import * as EmbeddedDatabase from "./EmbeddedDatabase.ts"
import * as EmbeddedLock from "./EmbeddedLock.ts"
import { ownerUrl } from "./EmbeddedOwner.ts"

/** `dataDir` for an embedded database that lives in memory and keeps nothing (tests). */
export const MEMORY = EmbeddedDatabase.MEMORY

export interface DatabaseOptions extends ConnectionOptions {
  /** A connection URL; overrides `DATABASE_URL`. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /**
   * Folder the embedded PGlite keeps its data in, when there is no URL. Default:
   * `FUSION_AUTH_DATA_DIR`, else `.data/fusion-auth` under the working directory;
   * `"memory://"` for a database in memory, which `DATABASE_URL` never replaces (tests).
   */
  readonly dataDir?: string | undefined
  /** When another process owns the folder, use its server instead of refusing to start (the CLI does). */
  readonly connectToOwner?: boolean | undefined
  /**
   * Embedded database: how long, in milliseconds, one connection may hold the database idle
   * inside a transaction (or stopped mid-exchange) before it is rolled back and dropped, so it
   * cannot stall every other request. Default 10 000 (10 s). The process that opens the folder sets it.
   */
  readonly idleInTransactionTimeout?: number | undefined
}

/** `FUSION_AUTH_DATA_DIR`, else `.data/fusion-auth`; an empty value counts as unset. */
const DATA_DIR = Config.String("FUSION_AUTH_DATA_DIR").pipe(
  Config.withDefault(""),
  Config.map((dir) => dir || ".data/fusion-auth")
)

/** The embedded folder these options name: the option, `FUSION_AUTH_DATA_DIR`, or `.data/fusion-auth`; absolute. */
export const dataDir = (options: DatabaseOptions = {}): Effect.Effect<string> =>
  Effect.map(
    options.dataDir === undefined ? Effect.orDie(Effect.gen(function*() { return yield* DATA_DIR })) : Effect.succeed(options.dataDir),
    (dir) => (dir === MEMORY ? MEMORY : resolve(dir))
  )

/** `dataDir`, read now from the environment's configuration. */
export const dataDirOf = (options: DatabaseOptions = {}): string => Effect.runSync(dataDir(options))

interface Entry {
  readonly started: Promise<EmbeddedDatabase.Embedded>
  readonly scope: Scope.Closeable
  refs: number
  /** Takes it off what the process closes when it has nothing else left to do (`closeWhenIdle`). */
  readonly forget: () => void
}

interface Registry {
  readonly open: Map<string, Entry>
  readonly closing: Map<string, Promise<void>>
}

/**
 * Per process, not per module instance: a dev server that re-evaluates this module (Vite's
 * SSR reload) must find the database it already opened rather than open the folder twice.
 */
const registry: Registry = ((globalThis as Record<symbol, unknown>)[Symbol.for("fusion-auth/embedded/v3")] ??= {
  open: new Map(),
  closing: new Map()
}) as Registry

/**
 * A hold on an embedded database: its URL, `connect` when this process serves it (a
 * connection with no socket), and `release` to let go of it.
 */
export interface Lease {
  readonly url: string
  readonly connect?: (() => Duplex) | undefined
  readonly release: () => Promise<void>
}

const closeEntry = (key: string, entry: Entry): Promise<void> => {
  entry.forget()
  if (registry.open.get(key) === entry) registry.open.delete(key)
  const done = entry.started.then(() => Effect.runPromise(Scope.close(entry.scope, Exit.void)), () => undefined).finally(() => {
    if (registry.closing.get(key) === done) registry.closing.delete(key)
  })
  registry.closing.set(key, done)
  return done
}

/**
 * How the caller logs (its loggers, stderr or stdout, the minimum level): what the embedded
 * database's own log lines (an upgrade, the lock's heartbeat) follow when that caller starts it.
 * Nothing else of the caller's reaches the database's fibers, which outlive the caller.
 */
export type Logging = Context.Context<never>

const logging = Effect.map(Effect.context<never>(), Context.pick(Logger.CurrentLoggers, Logger.LogToStderr, References.MinimumLogLevel)) as Effect.Effect<Logging>

const ownLease = async (key: string, idleLimitMs: number | undefined, logs: Logging): Promise<Lease> => {
  let entry = registry.open.get(key)
  if (entry === undefined) {
    const previous = registry.closing.get(key)
    // The database lives in its own scope, closed by the last release; a failed start closes it at once.
    const scope = Scope.makeUnsafe()
    const start = EmbeddedDatabase.make(key, { idleLimitMs }).pipe(
      Scope.provide(scope),
      Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
    )
    const started = (previous ?? Promise.resolve()).then(() => Effect.runPromiseWith(logs)(start))
    // Held by a runtime never disposed, it is closed, cleanly, once the process has nothing else left to do.
    const created: Entry = { started, scope, refs: 0, forget: closeWhenIdle(() => closeEntry(key, created), "storage") }
    entry = created
    started.catch(() => {
      created.forget()
      if (registry.open.get(key) === created) registry.open.delete(key)
    })
    registry.open.set(key, entry)
  }
  const held = entry
  held.refs++
  try {
    const { url, connect } = await held.started
    let released = false
    return {
      url,
      connect,
      release: async () => {
        if (released) return
        released = true
        if (--held.refs === 0) await closeEntry(key, held)
      }
    }
  } catch (error) {
    held.refs--
    throw error
  }
}

/**
 * Holds the embedded database for these options, starting it on first use. Another live
 * process's folder is refused (`EmbeddedDatabaseInUse`), or reached through the owner's
 * socket with `connectToOwner` (refused too when the owner is on another host, where its
 * socket cannot be reached).
 */
export const leaseEmbedded = async (options: DatabaseOptions = {}, logs: Logging = Context.empty()): Promise<Lease> => {
  const key = dataDirOf(options)
  for (;;) {
    try {
      return await ownLease(key, options.idleInTransactionTimeout, logs)
    } catch (error) {
      if (!(error instanceof EmbeddedDatabase.EmbeddedDatabaseOwned)) throw error
      const owner = error.owner
      const inUse = new EmbeddedLock.EmbeddedDatabaseInUse({ dataDir: key, owner: EmbeddedLock.whereabouts(owner) })
      if (options.connectToOwner !== true || !EmbeddedLock.sameHost(owner)) throw inUse
      const url = await ownerUrl(key, owner)
      if (url !== undefined) return { url, release: async () => undefined }
      // The owner went away meanwhile: open the folder here.
    }
  }
}

/** Stops every embedded server this process started, whoever still holds it (tests, graceful shutdown). */
export const closeEmbedded = async (): Promise<void> => {
  await Promise.all([...registry.open].map(([key, entry]) => closeEntry(key, entry)))
  await Promise.all([...registry.closing.values()])
}

/**
 * The explicit URL, else `DATABASE_URL`; none means the embedded database. An explicit
 * `dataDir: "memory://"` is a test's database: `DATABASE_URL` (a CI job's, a shell's) never
 * replaces it, so a test suite cannot write to the server it names.
 */
const configuredUrl = (options: DatabaseOptions): Effect.Effect<Option.Option<Redacted.Redacted<string>>, Config.ConfigError> =>
  Effect.gen(function*() {
    if (options.url !== undefined) {
      return Option.some(Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url))
    }
    if (options.dataDir === MEMORY) return Option.none()
    const fromEnv = yield* Config.option(Config.Redacted("DATABASE_URL"))
    return Option.filter(fromEnv, (url) => Redacted.value(url) !== "")
  })

/** Why the embedded database could not be had: another process's folder, or a failure to open or serve it. */
export type EmbeddedFailure = EmbeddedLock.EmbeddedDatabaseInUse | EmbeddedDatabase.EmbeddedDatabaseError

/** `leaseEmbedded` for as long as the scope lives; its failures typed. */
export const lease = (options: DatabaseOptions = {}): Effect.Effect<Lease, EmbeddedFailure, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.flatMap(logging, (logs) => Effect.tryPromise({
      try: () => leaseEmbedded(options, logs),
      catch: (error) =>
        error instanceof EmbeddedLock.EmbeddedDatabaseInUse || error instanceof EmbeddedDatabase.EmbeddedDatabaseError
          ? error
          : new EmbeddedDatabase.EmbeddedDatabaseError({ dataDir: dataDirOf(options), step: "open", cause: error })
    })),
    (held) => Effect.promise(held.release)
  )

/** fusion-auth's `SqlClient` on that database; the embedded one is held for as long as the layer lives. */
export const layer = (
  options: DatabaseOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Config.ConfigError | SqlError | EmbeddedFailure> =>
  Layer.unwrap(Effect.gen(function*() {
    const configured = yield* configuredUrl(options)
    const held = Option.isSome(configured) ? undefined : yield* lease(options)
    const { url, prepare, multiplex, maxConnections, idleTimeoutMs } = yield* connection(held === undefined ? Option.getOrThrow(configured) : Redacted.make(held.url), options)
    // Multiplexed unless behind a transaction pooler: statements from concurrent requests share
    // a connection's write (a transaction still holds its connection alone). The embedded
    // database this process serves is reached in-process, without a socket.
    // The pool's timers (its idle reaper) are background work: they never keep the process alive.
    // In-process connections to the embedded database this process serves hold nothing open
    // (the database is closed itself when the process has nothing else left). A socket (to a
    // server, or to another process's embedded database) is closed after idleTimeoutMs unused,
    // and the pool when the process has nothing else left, after the last lastUsedAt notes: a
    // process that forgets dispose() ends; one with a statement in flight is held.
    const idleTimeout = idleTimeoutMs ?? IDLE_TIMEOUT_MS
    const client = backgroundLayer(PgClient.layer({ url, maxConnections, prepare, multiplex, idleTimeout, ...(held?.connect ? { stream: held.connect } : {}) }))
    return held?.connect ? client : closedWhenIdle(client)
  }))

/** The symbol under which `betterAuthDatabase()` keeps its `close`, for `dispose()`. */
export const CLOSE: unique symbol = Symbol.for("fusion-auth/betterAuthDatabase/close") as never

/** Closes what `betterAuthDatabase()` opened: its pool, and its hold on the embedded database. */
export const closeBetterAuthDatabase = (database: unknown): Promise<void> => {
  const close = (database as { readonly [CLOSE]?: () => Promise<void> } | null | undefined)?.[CLOSE]
  return close === undefined ? Promise.resolve() : close()
}

/**
 * Better Auth's `database` option on the same database. The pool is made on first use, so
 * it works before the embedded server has started; `dispose()` of `createAuthSession`
 * closes it:
 *
 *   betterAuth({ database: betterAuthDatabase(), plugins: [fusionAuth()], … })
 */
export const betterAuthDatabase = (options: DatabaseOptions = {}) => {
  let opened: Promise<{ readonly pool: import("pg").Pool; readonly lease: Lease | undefined }> | undefined
  const open = async () => {
    const [{ default: pg }, configured] = await Promise.all([import("pg"), Effect.runPromise(configuredUrl(options))])
    const lease = Option.isSome(configured) ? undefined : await leaseEmbedded(options)
    // `pg` prepares nothing unless asked, so behind a transaction pooler only the count matters.
    const { url, maxConnections, idleTimeoutMs } = await Effect.runPromise(
      connection(Option.isSome(configured) ? configured.value : Redacted.make(lease!.url), options)
    ).catch(async (error: unknown) => {
      await lease?.release() // a bad setting keeps no hold on the embedded database
      throw error
    })
    // Idle connections never keep the process alive (src/runtime/Background.ts); one in use does.
    const pool = new pg.Pool({
      connectionString: Redacted.value(url),
      max: maxConnections,
      allowExitOnIdle: true,
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: idleTimeoutMs })
    })
    // An idle connection the server dropped is not fatal: the next query opens a new one.
    pool.on("error", () => undefined)
    // Nor is one dropped while checked out between queries (pg emits that on the client, where an unheard 'error' kills the process); the pool discards it on release.
    pool.on("connect", (client) => client.on("error", () => undefined))
    return { pool, lease }
  }
  const pool = async () => {
    if (opened === undefined) {
      const attempt = open()
      opened = attempt
      // A failed open (the folder unwritable, the database down) is not kept: the next use tries again.
      attempt.catch(() => {
        if (opened === attempt) opened = undefined
      })
    }
    return (await opened).pool
  }
  const close = async () => {
    if (opened === undefined) return
    const current = opened
    opened = undefined
    const { pool, lease } = await current.catch(() => ({ pool: undefined, lease: undefined }))
    await pool?.end()
    await lease?.release()
  }
  return { dialect: new PostgresDialect({ pool }), type: "postgres" as const, [CLOSE]: close }
}
