/**
 * The databases the suites run on: an embedded PGlite (always) and a fresh database on the
 * server `DATABASE_URL` names (when it is set). Each call makes a new, empty database.
 */
import { PGlite } from "@electric-sql/pglite"
import { readFile } from "node:fs/promises"
import pg from "pg"
import { afterAll, beforeAll, describe } from "vitest"
import { serve } from "../../src/sql/EmbeddedServer.ts"
import { INITDB, initdb } from "./pglite-initdb.ts"

export interface TestDatabase {
  readonly url: string
  close(): Promise<void>
}

export interface Backend {
  readonly name: "pglite" | "postgres"
  make(): Promise<TestDatabase>
}

/**
 * A new PGlite's data directory as `initdb` leaves it: the run's copy (./pglite-initdb.ts),
 * else one made once per process. Each PGlite test database starts from it (~0.3 s here)
 * rather than running `initdb` again (~1.6 s): the same empty cluster.
 */
let initialized: Promise<Blob> | undefined
const fresh = () => {
  const file = process.env[INITDB]
  return (initialized ??= file ? readFile(file).then((bytes) => new Blob([bytes])) : initdb())
}

export const pglite: Backend = {
  name: "pglite",
  make: async () => {
    const db = await PGlite.create({ loadDataDir: await fresh() })
    const server = await serve(db)
    return {
      url: server.url,
      close: async () => {
        await server.stop()
        await db.close()
      }
    }
  }
}

const serverUrl = process.env.DATABASE_URL

export const postgres: Backend = {
  name: "postgres",
  make: async () => {
    if (!serverUrl) throw new Error("DATABASE_URL is not set")
    const name = `fusion_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    await admin.query(`create database "${name}"`)
    await admin.end()
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return {
      url: url.toString(),
      close: async () => {
        const admin = new pg.Client({ connectionString: serverUrl })
        await admin.connect()
        await admin.query(`drop database if exists "${name}" with (force)`)
        await admin.end()
      }
    }
  }
}

/** PGlite always; real Postgres too when `DATABASE_URL` is set. */
export const sqlBackends: ReadonlyArray<Backend> = serverUrl ? [pglite, postgres] : [pglite]

/**
 * A `pg` pool for a test's Better Auth, as an app would make one, that outlives its database.
 * `close()` above drops a database with `(force)`, and `pool.end()` can resolve before its
 * sockets have closed: the server then ends a connection the pool still holds, and a pool
 * (or a checked-out client) with no 'error' listener throws that out of the test file.
 */
export const testPool = (connectionString: string, max = 4) => {
  const pool = new pg.Pool({ connectionString, max })
  pool.on("error", () => undefined)
  pool.on("connect", (client) => client.on("error", () => undefined))
  return pool
}

/** A suite's database and the world its tests share on it, both made before the first test. */
export interface OnBackend<W> {
  readonly db: TestDatabase
  readonly world: W
}

/**
 * `describe(title, …)` once per SQL backend: a fresh test database and `make(url)`'s world on it
 * before the tests, both closed after; the tests read them from `held`.
 */
export const describeOnBackends = <W extends { close(): Promise<void> }>(
  title: string,
  make: (url: string) => Promise<W>,
  tests: (held: OnBackend<W>) => void
): void => {
  for (const backend of sqlBackends) {
    describe(`${title}, on ${backend.name}`, () => {
      const held = {} as { db: TestDatabase; world: W }
      beforeAll(async () => {
        held.db = await backend.make()
        held.world = await make(held.db.url)
      })
      afterAll(async () => {
        await held.world?.close()
        await held.db?.close()
      })
      tests(held)
    })
  }
}

/** `run` with the world `made` gives, closed after it whatever happens. */
export const withWorld = async <W extends { close(): Promise<void> }, A>(made: Promise<W>, run: (world: W) => Promise<A>): Promise<A> => {
  const world = await made
  try {
    return await run(world)
  } finally {
    await world.close()
  }
}
