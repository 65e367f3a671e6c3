/**
 * The restore of an earlier release's embedded folder (`EmbeddedUpgrade`), run in a worker
 * thread: pg_dump and PGlite's `exec` each hold their thread for as long as they take, and the
 * owner's heartbeat (`EmbeddedLock`) must go on meanwhile, or another process would count the
 * owner dead and take the folder over mid-restore.
 *
 * `workerData`: `{ from, into }`. The database in `from` (PostgreSQL 18, PGlite 0.5) is dumped
 * and restored into the new folder `into` by this release's PGlite; before `into` is handed
 * back, every table's row count and every sequence's value are compared on both sides. Posts
 * `{ tables }` when they match; any failure is the worker's error.
 */
import { parentPort, workerData } from "node:worker_threads"

interface Queryable {
  query<T>(sql: string): Promise<{ readonly rows: Array<T> }>
}

/** Every table's row count and every sequence's last value: what a faithful restore keeps. */
const census = async (db: Queryable): Promise<Map<string, string>> => {
  const tables = await db.query<{ name: string; n: string }>(
    `select format('%I.%I', table_schema, table_name) as name,
            (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I', table_schema, table_name), false, true, '')))[1]::text as n
       from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`
  )
  const sequences = await db.query<{ name: string; n: string | null }>(
    `select format('%I.%I', schemaname, sequencename) as name, last_value::text as n from pg_sequences`
  )
  return new Map([...tables.rows.map((row) => [`table ${row.name}`, row.n] as const), ...sequences.rows.map((row) => [`sequence ${row.name}`, String(row.n)] as const)])
}

const closing = async <A>(db: { close(): Promise<void> }, use: () => Promise<A>): Promise<A> => {
  try {
    return await use()
  } finally {
    await db.close().catch(() => undefined) // the failure that matters is use()'s
  }
}

const { from, into } = workerData as { readonly from: string; readonly into: string }
const { PGlite: Earlier } = await import("@fusion-auth/pglite-pg18")
const { a: pgDump } = await import("../../vendor/pglite-tools/pg_dump.js")
const old = await Earlier.create({ dataDir: from })
const [dump, before] = await closing(old, async () => [await (await pgDump({ pg: old })).text(), await census(old)] as const)
const { PGlite } = await import("@electric-sql/pglite")
const fresh = await PGlite.create({ dataDir: into })
const after = await closing(fresh, async () => {
  await fresh.exec(dump)
  return census(fresh)
})
const differ = [...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key))
if (differ.length > 0) {
  throw new Error(`the restored database differs from the earlier one: ${differ.slice(0, 3).map((key) => `${key} ${before.get(key) ?? "absent"} -> ${after.get(key) ?? "absent"}`).join(", ")}`)
}
parentPort!.postMessage({ tables: [...before.keys()].filter((key) => key.startsWith("table ")).length })
