/**
 * The embedded server: PGlite (one Postgres session) shared by many connections, over
 * its Unix socket and in-process streams at once, each exchange and transaction whole; a client
 * that leaves mid-transaction costs nobody else anything.
 */
import { assert, describe, it } from "@effect/vitest"
import { PGlite } from "@electric-sql/pglite"
import { PgClient } from "@effect/sql-pg"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { type EmbeddedServer, serve } from "../src/sql/EmbeddedServer.ts"

let db: PGlite
let server: EmbeddedServer

beforeAll(async () => {
  db = await PGlite.create()
  server = await serve(db)
  await db.exec(`create table counter (id int primary key, n int not null); insert into counter values (1, 0)`)
})
afterAll(async () => {
  await server.stop()
  await db.close()
})

/** fusion-auth's own client on the server: in-process (no socket) or over its socket; multiplexed, as `Database.layer` makes it. */
const client = (inProcess: boolean) =>
  ManagedRuntime.make(PgClient.layer({
    url: Redacted.make(server.url),
    maxConnections: 8,
    multiplex: true,
    ...(inProcess ? { stream: server.connect } : {})
  }))

/** One read-modify-write in a transaction: a lost update shows if two transactions interleave. */
const increment = SqlClient.SqlClient.pipe(
  Effect.flatMap((sql) =>
    sql.withTransaction(
      sql<{ n: number }>`select n from counter where id = 1`.pipe(
        Effect.flatMap(([row]) => Effect.sleep("1 millis").pipe(Effect.andThen(sql`update counter set n = ${row!.n + 1} where id = 1`)))
      )
    )
  )
)

const count = async () => (await db.query<{ n: number }>(`select n from counter where id = 1`)).rows[0]!.n

describe("embedded server", () => {
  it("runs every transaction whole, from in-process, socket and pg clients at once", async () => {
    const before = await count()
    const local = client(true)
    const remote = client(false)
    const pool = new pg.Pool({ connectionString: server.url, max: 4 })
    try {
      const viaPg = async () => {
        const c = await pool.connect()
        try {
          await c.query("begin")
          const { rows } = await c.query<{ n: number }>(`select n from counter where id = 1`)
          await c.query(`update counter set n = $1 where id = 1`, [rows[0]!.n + 1])
          await c.query("commit")
        } finally {
          c.release()
        }
      }
      await Promise.all([
        ...Array.from({ length: 20 }, () => local.runPromise(increment)),
        ...Array.from({ length: 20 }, () => remote.runPromise(increment)),
        ...Array.from({ length: 20 }, viaPg),
        // plain statements, pipelined on the same connections meanwhile
        ...Array.from({ length: 40 }, (_, i) => local.runPromise(SqlClient.SqlClient.pipe(Effect.flatMap((sql) => sql`select ${i}::int as i`))))
      ])
      assert.strictEqual(await count(), before + 60)
    } finally {
      await local.dispose()
      await remote.dispose()
      await pool.end()
    }
  })

  it("rolls back the transaction of a client that leaves in the middle, and serves the others", async () => {
    const before = await count()
    const leaving = new pg.Client({ connectionString: server.url })
    leaving.on("error", () => undefined)
    await leaving.connect()
    await leaving.query("begin")
    await leaving.query(`update counter set n = n + 1000 where id = 1`)
    ;(leaving as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy() // gone without a word
    const local = client(true)
    try {
      await local.runPromise(increment)
      assert.strictEqual(await count(), before + 1)
    } finally {
      await local.dispose()
    }
  })

  it("a client idle inside a transaction past the limit is rolled back and dropped; the others are answered within the limit (psql left at BEGIN)", async () => {
    const own = await PGlite.create()
    const limited = await serve(own, { idleLimitMs: 400 })
    await own.exec(`create table t (n int)`)
    const stalled = new pg.Client({ connectionString: limited.url })
    stalled.on("error", () => undefined)
    const other = new pg.Client({ connectionString: limited.url })
    try {
      await stalled.connect()
      await other.connect()
      await stalled.query("begin")
      await stalled.query("insert into t values (1)")
      // Left there, as a forgotten psql would be: the other client's statement waits for the limit, not for ever.
      const started = performance.now()
      const { rows } = await other.query<{ n: string }>("select count(*) as n from t")
      const waited = performance.now() - started
      assert.strictEqual(rows[0]!.n, "0", "the stalled transaction's write was rolled back")
      assert.isAtLeast(waited, 300)
      assert.isBelow(waited, 5_000)
      const dropped = await stalled.query("select 1").then(() => "answered", (error: Error) => error.message)
      assert.notStrictEqual(dropped, "answered", "the stalled connection was dropped")
      // A transaction that keeps talking is never cut short.
      await other.query("begin")
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        await other.query("insert into t values (2)")
      }
      await other.query("commit")
      assert.strictEqual((await other.query<{ n: string }>("select count(*) as n from t")).rows[0]!.n, "4")
    } finally {
      await stalled.end().catch(() => undefined)
      await other.end()
      await limited.stop()
      await own.close()
    }
  })

  it("resets what a leaving connection changed, as a pooler's DISCARD ALL would: its settings and its prepared statements, not another's", async () => {
    const leaving = new pg.Client({ connectionString: server.url })
    const staying = new pg.Client({ connectionString: server.url })
    await leaving.connect()
    await staying.connect()
    try {
      await staying.query({ name: "staying_one", text: "select 1 as one" })
      await leaving.query("set statement_timeout = '4321ms'")
      await leaving.query({ name: "leaving_one", text: "select 2 as two" })
      await leaving.query({ name: 'odd "name"; select 1', text: "select 3 as three" })
      const prepared = async () =>
        (await staying.query<{ name: string }>("select name from pg_prepared_statements order by name")).rows.map((r) => r.name)
      assert.includeMembers(await prepared(), ["leaving_one", 'odd "name"; select 1', "staying_one"])
      assert.strictEqual((await staying.query<{ statement_timeout: string }>("show statement_timeout")).rows[0]!.statement_timeout, "4321ms")
      await leaving.end()
      const after = await prepared()
      assert.notInclude(after, "leaving_one")
      assert.notInclude(after, 'odd "name"; select 1')
      assert.include(after, "staying_one")
      assert.strictEqual((await staying.query<{ statement_timeout: string }>("show statement_timeout")).rows[0]!.statement_timeout, "0")
      // The one that stays still runs its own statement.
      assert.deepStrictEqual((await staying.query({ name: "staying_one", text: "select 1 as one" })).rows, [{ one: 1 }])
    } finally {
      await leaving.end().catch(() => undefined)
      await staying.end()
    }
  })

  it("answers an in-process TLS request with 'N', as a server without TLS does, and then serves the connection", async () => {
    const stream = server.connect()
    const answer = await new Promise<string>((resolve) => {
      stream.once("data", (data: Buffer) => resolve(data.toString()))
      stream.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]))
    })
    stream.destroy()
    assert.strictEqual(answer, "N")
  })
})
