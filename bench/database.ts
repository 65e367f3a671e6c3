/**
 * The databases the bench runs on: a fresh database on the Postgres server (created here,
 * dropped on close) and an embedded PGlite served on loopback by fusion-auth's own embedded
 * server, as an app without `DATABASE_URL` runs it.
 */
import { PGlite } from "@electric-sql/pglite"
import pg from "pg"
import { serve } from "../src/sql/EmbeddedServer.ts"

export type BackendName = "postgres" | "pglite"

export interface BenchDatabase {
  readonly backend: BackendName
  readonly url: string
  /** Server version, e.g. "PostgreSQL 15.20". */
  readonly version: string
  close(): Promise<void>
}

/** The server the bench makes its database on: `DATABASE_URL`, else the local default. */
export const serverUrl = (): string => process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres"

const versionOf = async (url: string): Promise<string> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string }>("select version()")
    return /^\S+ \S+/.exec(rows[0]!.version)?.[0] ?? rows[0]!.version
  } finally {
    await client.end()
  }
}

const admin = async <T>(run: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: serverUrl() })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

export const makePostgres = async (): Promise<BenchDatabase> => {
  const name = `fusion_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  await admin((client) => client.query(`create database "${name}"`))
  const url = new URL(serverUrl())
  url.pathname = `/${name}`
  return {
    backend: "postgres",
    url: url.toString(),
    version: await versionOf(url.toString()),
    close: () => admin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => undefined)
  }
}

export const makePglite = async (): Promise<BenchDatabase> => {
  const db = await PGlite.create()
  // Every pool of every contender stays open for the whole run: leave room for all of them.
  const server = await serve(db, { maxConnections: 200 })
  const url = server.url
  return {
    backend: "pglite",
    url,
    version: `PGlite ${(await versionOf(url)).replace(/^PostgreSQL /, "(PostgreSQL ")})`,
    close: async () => {
      await server.stop()
      await db.close()
    }
  }
}

const open = new Set<BenchDatabase>()

/** A fresh database; `closeAll` closes (drops) every one still open, e.g. on Ctrl-C. */
export const makeDatabase = async (backend: BackendName): Promise<BenchDatabase> => {
  const db = backend === "postgres" ? await makePostgres() : await makePglite()
  const tracked: BenchDatabase = {
    ...db,
    close: async () => {
      open.delete(tracked)
      await db.close()
    }
  }
  open.add(tracked)
  return tracked
}

export const closeAll = (): Promise<unknown> => Promise.allSettled([...open].map((db) => db.close()))

/** True when the Postgres server answers. */
export const postgresReachable = (): Promise<boolean> =>
  admin((client) => client.query("select 1")).then(() => true, () => false)
