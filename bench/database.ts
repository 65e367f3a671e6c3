/**
 * The databases the bench runs on: a fresh database on the Postgres server (created here,
 * dropped on close) and fusion-auth's embedded PGlite (in memory), as an app without
 * `DATABASE_URL` runs it: fusion-auth's client in-process, Better Auth's pool on loopback.
 */
import pg from "pg"
import { type DatabaseOptions, leaseEmbedded, MEMORY } from "../src/sql/Database.ts"

export type BackendName = "postgres" | "pglite"

export interface BenchDatabase {
  readonly backend: BackendName
  /** For Better Auth's `pg` pool (and the counting proxy). */
  readonly url: string
  /** How fusion-auth reaches it, as an app would: the URL, or the embedded database this process serves. */
  readonly database: DatabaseOptions
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
    database: { url: url.toString() },
    version: await versionOf(url.toString()),
    close: () => admin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => undefined)
  }
}

/** The embedded database as an app without `DATABASE_URL` runs it: fusion-auth in-process, Better Auth over loopback. */
export const makePglite = async (): Promise<BenchDatabase> => {
  // An app without DATABASE_URL: while this backend runs, the library must not see the Postgres server's.
  const saved = process.env.DATABASE_URL
  process.env.DATABASE_URL = ""
  const restore = () => {
    if (saved === undefined) delete process.env.DATABASE_URL
    else process.env.DATABASE_URL = saved
  }
  try {
    const lease = await leaseEmbedded({ dataDir: MEMORY })
    return {
      backend: "pglite",
      url: lease.url,
      database: { dataDir: MEMORY },
      version: `PGlite ${(await versionOf(lease.url)).replace(/^PostgreSQL /, "(PostgreSQL ")})`,
      close: () => lease.release().finally(restore)
    }
  } catch (error) {
    restore()
    throw error
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
