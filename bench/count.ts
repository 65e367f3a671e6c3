/**
 * The counting pass, apart from the timing pass (the proxy adds latency): statements and
 * writes per resolution read off the Postgres wire protocol (`test/support/wire.ts`), and
 * rows written and transactions from `pg_stat_database`.
 *
 * Each contender gets fresh clients through the proxy, a short warm-up, then `n` sequential
 * resolutions with the wire counted around each one. The statements its clients send while
 * closing (work deferred off the request path) are counted apart. Then, on the same clients,
 * `m` resolutions with 32 in flight at once (a closed loop, as the timing pass runs them):
 * statements per resolution there show what batching saves.
 *
 * `pg_stat_database` is flushed lazily in Postgres 15: a backend reports its counters at the
 * latest when it exits. So on Postgres the pass closes the contender's clients and waits
 * until none of their backends is left before reading; the delta covers warm-up and counted
 * resolutions alike. PGlite is one backend in this process: `pg_stat_force_next_flush()`.
 */
import pg from "pg"
import { countStatements, type WireCounter } from "../test/support/wire.ts"
import { Clients } from "./clients.ts"
import type { Contender, Op } from "./contenders.ts"
import { type BenchDatabase, serverUrl } from "./database.ts"
import type { Fixture } from "./fixture.ts"
import { measure } from "./measure.ts"

export interface Counts {
  /** Resolutions counted on the wire. */
  readonly resolutions: number
  /** Per resolution, from the wire. */
  readonly statements: number
  readonly writes: number
  /** Fewest and most statements one resolution took. */
  readonly statementsRange: readonly [number, number]
  /** Statements sent while the clients closed: deferred work (e.g. batched `lastUsedAt`). */
  readonly deferredStatements: number
  readonly deferredWrites: number
  /** From `pg_stat_database`, per resolution (warm-ups and both passes); `null` where unavailable. */
  readonly rowsWritten: number | null
  readonly transactions: number | null
  /** The distinct statement texts seen, first 120 characters (no parameter values). */
  readonly texts: ReadonlyArray<string>
  /** The same contender with many resolutions in flight at once; `null`: not counted. */
  readonly concurrent: ConcurrentCounts | null
}

export interface ConcurrentCounts {
  readonly concurrency: number
  readonly resolutions: number
  /** Per resolution, from the wire, deferred work at close left out. */
  readonly statements: number
  readonly writes: number
  /** Statements that carried many keys (a `$1::text[]` of keys), and their mean keys (`null` when the array could not be read). */
  readonly batches: number
  readonly keysPerBatch: number | null
}

interface DbStats {
  readonly xacts: number
  readonly written: number
}

const statsQuery = `select xact_commit + xact_rollback as xacts, tup_inserted + tup_updated + tup_deleted as written
  from pg_stat_database where datname = current_database()`

/** Reads `pg_stat_database` for the bench database, after its counters are flushed. */
const readStats = async (db: BenchDatabase): Promise<DbStats | null> => {
  if (db.backend === "pglite") {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      await client.query("select pg_stat_force_next_flush()")
      await client.query("select pg_stat_clear_snapshot()")
      const { rows } = await client.query(statsQuery)
      return { xacts: Number(rows[0].xacts), written: Number(rows[0].written) }
    } catch {
      return null
    } finally {
      await client.end()
    }
  }
  const name = new URL(db.url).pathname.slice(1)
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  try {
    for (let i = 0; i < 200; i++) {
      const { rows } = await admin.query("select count(*)::int as n from pg_stat_activity where datname = $1", [name])
      if (rows[0].n === 0) break
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    await admin.query("select pg_stat_clear_snapshot()")
    const { rows } = await admin.query(statsQuery.replace("current_database()", "$1"), [name])
    return { xacts: Number(rows[0].xacts), written: Number(rows[0].written) }
  } finally {
    await admin.end()
  }
}

const MANY = /\$1::text\[\]/

/** Elements of a one-dimensional array parameter, sent in binary (ndim, flags, type, length, …) or as text (`{a,b}`: keys hold no comma). */
const arrayLength = (param: Buffer | null | undefined): number | null => {
  if (!param) return null
  if (param.length >= 20 && param.readInt32BE(0) === 1) return param.readInt32BE(12)
  if (param.length >= 12 && param.readInt32BE(0) === 0) return 0
  const text = param.toString("utf8")
  return text.startsWith("{") && text.endsWith("}") ? (text === "{}" ? 0 : text.split(",").length) : null
}

/** `n` resolutions with `concurrency` in flight at once (a closed loop), after a round that opens the clients' connections. */
const countConcurrent = async (wire: WireCounter, op: Op, n: number, concurrency: number, offset: number): Promise<ConcurrentCounts> => {
  await measure(op, { concurrency, milliseconds: Number.POSITIVE_INFINITY, maxOps: concurrency }, offset)
  wire.reset()
  await measure(op, { concurrency, milliseconds: Number.POSITIVE_INFINITY, maxOps: n }, offset + concurrency)
  const seen = [...wire.statements()]
  wire.reset()
  const batched = seen.filter((s) => MANY.test(s.text))
  const keys = batched.map((s) => arrayLength(s.params[0]))
  return {
    concurrency,
    resolutions: n,
    statements: seen.length / n,
    writes: seen.filter((s) => s.write).length / n,
    batches: batched.length,
    keysPerBatch: batched.length > 0 && keys.every((k) => k !== null) ? keys.reduce((a, b) => a! + b!, 0)! / batched.length : null
  }
}

/** One contender: fresh clients, `n` resolutions one at a time, then (when `concurrent.n` > 0) `concurrent.n` at once. */
export const countContender = async (
  db: BenchDatabase,
  wire: WireCounter,
  contender: Contender,
  fixture: Fixture,
  n: number,
  concurrent: { readonly n: number; readonly concurrency: number } = { n: 0, concurrency: 32 }
): Promise<Counts> => {
  const warm = Math.min(5, n)
  const before = await readStats(db)
  const clients = new Clients(wire.url)
  const perResolution: Array<number> = []
  let counted: ReadonlyArray<{ readonly text: string; readonly write: boolean }> = []
  let deferred: ReadonlyArray<{ readonly text: string; readonly write: boolean }> = []
  let atOnce: ConcurrentCounts | null = null
  try {
    const op = await contender.make(clients, fixture)
    for (let i = 0; i < warm; i++) await op(i)
    wire.reset()
    for (let i = 0; i < n; i++) {
      const at = wire.statements().length
      await op(warm + i)
      perResolution.push(wire.statements().length - at)
    }
    counted = [...wire.statements()] // a copy: the counter keeps appending to the array it returned until reset
    if (concurrent.n > 0) atOnce = await countConcurrent(wire, op, concurrent.n, concurrent.concurrency, warm + n)
  } finally {
    wire.reset()
    await clients.close()
    deferred = wire.statements()
    wire.reset()
  }
  const after = await readStats(db)
  const total = warm + n + (atOnce === null ? 0 : atOnce.concurrency + atOnce.resolutions)
  return {
    resolutions: n,
    statements: counted.length / n,
    writes: counted.filter((s) => s.write).length / n,
    statementsRange: [Math.min(...perResolution), Math.max(...perResolution)],
    deferredStatements: deferred.length,
    deferredWrites: deferred.filter((s) => s.write).length,
    rowsWritten: before && after ? (after.written - before.written) / total : null,
    transactions: before && after && db.backend === "postgres" ? (after.xacts - before.xacts) / total : null,
    texts: [...new Set(counted.map((s) => s.text.replace(/\s+/g, " ").trim().slice(0, 120)))],
    concurrent: atOnce
  }
}

/** Counts every contender, one after another, through one proxy: `n` one at a time, then `m` at `concurrency`. */
export const countAll = async (
  db: BenchDatabase,
  contenders: ReadonlyArray<Contender>,
  fixture: Fixture,
  n: number,
  concurrent: { readonly n: number; readonly concurrency: number }
): Promise<Record<string, Counts>> => {
  const wire = await countStatements(db.url)
  try {
    const out: Record<string, Counts> = {}
    for (const contender of contenders) out[contender.id] = await countContender(db, wire, contender, fixture, n, concurrent)
    return out
  } finally {
    await wire.close()
  }
}
