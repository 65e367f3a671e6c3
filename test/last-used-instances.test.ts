/**
 * `lastUsedAt` from several instances of an app on one database: each flushes the notes of the
 * tokens it served, and busy tokens are served by all of them. Flushes that run at once, over
 * the same tokens in different orders, must not deadlock (Postgres would refuse one of them and
 * its notes would wait an interval, or be lost at shutdown), and every note is written. A row
 * another transaction holds (a revocation in progress) is not waited for: written once free.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import pg from "pg"
import { createAuthSession } from "../src/index.ts"
import { makeAuth, migrate, signUp } from "./support/auth.ts"
import { type Backend, postgres, sqlBackends } from "./support/databases.ts"

const INSTANCES = 4
const TOKENS = 400
const ROUNDS = 4

/** A fresh order of 0 … n-1 for each instance: the order its notes are kept, and written, in. */
const shuffled = (n: number) => {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/**
 * A fresh database of `backend`, migrated, with a Better Auth on it, a client of the test's own
 * (`other`, connected) and a user signed up; everything closed after `body`.
 */
const onFreshDatabase = async (
  backend: Backend,
  body: (world: { url: string; auth: ReturnType<typeof makeAuth>["auth"]; pool: pg.Pool; other: pg.Client; userId: string }) => Promise<void>
) => {
  const db = await backend.make()
  const { auth, pool } = makeAuth(db.url)
  const other = new pg.Client({ connectionString: db.url })
  try {
    await migrate(auth, { url: db.url })
    await other.connect()
    const { userId } = await signUp(auth, `busy.${Math.random().toString(36).slice(2, 8)}@example.com`)
    await body({ url: db.url, auth, pool, other, userId })
  } finally {
    await other.end().catch(() => undefined)
    await pool.end()
    await db.close()
  }
}

describe.each(sqlBackends)("lastUsedAt written by several instances at once on $name", (backend) => {
  it("flushes over the same tokens in different orders never deadlock, and the latest use is what is kept", { timeout: 180_000 }, async () => {
    await onFreshDatabase(backend, async ({ url, auth, pool, other: admin, userId }) => {
      const deadlocks = async () => {
        await admin.query("select pg_stat_clear_snapshot()")
        return Number((await admin.query(`select deadlocks from pg_stat_database where datname = current_database()`)).rows[0]?.deadlocks ?? 0)
      }
      const minting = createAuthSession(auth, { database: { url }, tokens: { maxLiveTokensPerUser: TOKENS } })
      const tokens: Array<string> = []
      for (let i = 0; i < TOKENS; i++) tokens.push(Redacted.value((await minting.tokens.create({ userId, name: `t${i}` })).token))
      await minting.dispose()
      const before = await deadlocks()

      for (let round = 0; round < ROUNDS; round++) {
        // Not used for longer than the interval (a minute): each instance's first use of each token is noted, and written at its flush.
        await pool.query(`update "apiToken" set "lastUsedAt" = null`)
        const instances = Array.from({ length: INSTANCES }, () => createAuthSession(auth, { database: { url } }))
        const started = new Date()
        // Each instance serves every token, in an order of its own; the last to serve a token serves it last of all.
        let lastBegan = started
        for (const instance of instances) {
          lastBegan = new Date()
          for (const i of shuffled(TOKENS)) {
            const session = await instance.getSession(new Headers({ authorization: `Bearer ${tokens[i]}` }))
            assert.strictEqual(session?.user.id, userId)
          }
        }
        const lastServed = new Date()
        // Disposing writes each instance's notes: four flushes at once over the same rows.
        await Promise.all(instances.map((instance) => instance.dispose()))
        const { rows } = await pool.query<{ lastUsedAt: Date | null }>(`select "lastUsedAt" from "apiToken"`)
        assert.strictEqual(rows.length, TOKENS)
        for (const { lastUsedAt } of rows) {
          assert.isNotNull(lastUsedAt)
          assert.isTrue(lastUsedAt!.getTime() >= lastBegan.getTime() && lastUsedAt!.getTime() <= lastServed.getTime(), `round ${round}: the last instance's use is kept (${lastUsedAt!.toISOString()})`)
        }
      }
      assert.strictEqual(await deadlocks() - before, 0, "Postgres detected no deadlock")
    })
  })
})

describe.runIf(process.env.DATABASE_URL)("lastUsedAt and a row another transaction holds, on postgres", () => {
  it("the flush writes the other tokens without waiting, and the held one once it is free", { timeout: 60_000 }, async () => {
    await onFreshDatabase(postgres, async ({ url, auth, pool, other: holder, userId }) => {
      const app = createAuthSession(auth, { database: { url } })
      const minted = [await app.tokens.create({ userId, name: "a" }), await app.tokens.create({ userId, name: "b" }), await app.tokens.create({ userId, name: "c" })]
      for (const { token } of minted) assert.strictEqual((await app.getSession(new Headers({ authorization: `Bearer ${Redacted.value(token)}` })))?.user.id, userId)
      const held = minted[1]!.info.id
      const lastUsed = async () =>
        new Map((await pool.query<{ id: string; lastUsedAt: Date | null }>(`select "id", "lastUsedAt" from "apiToken"`)).rows.map((row) => [row.id, row.lastUsedAt]))
      // A revocation in progress, say: b's row locked until the holder commits.
      await holder.query("begin")
      await holder.query(`select 1 from "apiToken" where "id" = $1 for update`, [held])
      const disposed = app.dispose()
      let seen = await lastUsed()
      for (let i = 0; i < 100 && seen.get(minted[0]!.info.id) === null; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        seen = await lastUsed()
      }
      assert.isNotNull(seen.get(minted[0]!.info.id), "a written while b's row is held")
      assert.isNotNull(seen.get(minted[2]!.info.id), "c written while b's row is held")
      assert.isNull(seen.get(held), "b not yet: its row is held")
      await holder.query("commit")
      await disposed
      assert.isNotNull((await lastUsed()).get(held), "b written once free, before dispose ended")
    })
  })
})
