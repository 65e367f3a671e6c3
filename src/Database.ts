/**
 * Where the database is: `DATABASE_URL` when set, otherwise an embedded PGlite served on
 * loopback by `@electric-sql/pglite-socket`, so the same wire driver runs in development,
 * tests and production with no server to install.
 *
 * The embedded server is started once per process and data folder, and shared by
 * fusion-auth's `PgClient` and Better Auth's pool (`betterAuthDatabase`), so both see the
 * same tables.
 */
import { PgClient } from "@effect/sql-pg"
import { mkdir } from "node:fs/promises"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { PostgresDialect } from "kysely"
export interface DatabaseOptions {
  /** A connection URL; overrides `DATABASE_URL`. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Folder the embedded PGlite keeps its data in; in memory when absent. */
  readonly dataDir?: string | undefined
}

interface Embedded {
  readonly url: string
  readonly close: () => Promise<void>
}

/**
 * Per process, not per module instance: a dev server that re-evaluates this module (Vite's
 * SSR reload) must find the server it already started rather than open the folder twice.
 */
const embedded: Map<string, Promise<Embedded>> = ((globalThis as Record<symbol, unknown>)[
  Symbol.for("fusion-auth/embedded")
] ??= new Map()) as Map<string, Promise<Embedded>>

const startEmbedded = async (dataDir: string | undefined): Promise<Embedded> => {
  const [{ PGlite }, { serve }] = await Promise.all([import("@electric-sql/pglite"), import("./EmbeddedServer.ts")])
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true })
  const db = await PGlite.create(dataDir === undefined ? {} : { dataDir })
  const server = await serve(db)
  return {
    url: server.url,
    close: async () => {
      await server.stop()
      await db.close()
    }
  }
}

/** The embedded server for this data folder, started on first use. */
export const embeddedUrl = (dataDir?: string): Promise<string> => {
  const key = dataDir ?? ":memory:"
  let started = embedded.get(key)
  if (started === undefined) {
    started = startEmbedded(dataDir)
    started.catch(() => embedded.delete(key))
    embedded.set(key, started)
  }
  return started.then((e) => e.url)
}

/** Stops every embedded server this process started (for tests and graceful shutdown). */
export const closeEmbedded = async (): Promise<void> => {
  const all = [...embedded.values()]
  embedded.clear()
  await Promise.all(all.map(async (e) => (await e).close()))
}

/** The connection URL: the explicit one, else `DATABASE_URL`, else the embedded server. */
export const connectionUrl = (options: DatabaseOptions = {}): Effect.Effect<Redacted.Redacted<string>, Config.ConfigError> =>
  Effect.gen(function*() {
    if (options.url !== undefined) {
      return Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url)
    }
    const fromEnv = yield* Config.option(Config.Redacted("DATABASE_URL"))
    if (Option.isSome(fromEnv) && Redacted.value(fromEnv.value) !== "") return fromEnv.value
    const url = yield* Effect.promise(() => embeddedUrl(options.dataDir))
    return Redacted.make(url)
  })

/** fusion-auth's `SqlClient` on that database. */
export const layer = (
  options: DatabaseOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, Config.ConfigError | SqlError> =>
  Layer.unwrap(Effect.map(connectionUrl(options), (url) => PgClient.layer({ url, maxConnections: 16 })))

/**
 * Better Auth's `database` option on the same database. The pool is made on first use, so
 * it works before the embedded server has started:
 *
 *   betterAuth({ database: betterAuthDatabase(), plugins: [fusionAuth()], … })
 */
export const betterAuthDatabase = (options: DatabaseOptions = {}) => {
  const pool = async () => {
    const [{ default: pg }, url] = await Promise.all([import("pg"), Effect.runPromise(connectionUrl(options))])
    const pool = new pg.Pool({ connectionString: Redacted.value(url), max: 16 })
    // An idle connection the server dropped is not fatal: the next query opens a new one.
    pool.on("error", () => undefined)
    // Nor is one dropped while checked out between queries (pg emits that on the client, where an unheard 'error' kills the process); the pool discards it on release.
    pool.on("connect", (client) => client.on("error", () => undefined))
    return pool
  }
  return { dialect: new PostgresDialect({ pool }), type: "postgres" as const }
}
