/**
 * What fails once is tried again, not given up on for the life of the process: a
 * `lastUsedAt` flush the database refused, and an embedded open that failed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Logger } from "effect"
import { TestClock } from "effect/testing"
import { Kysely, sql } from "kysely"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as TokenPolicy from "../src/core/TokenPolicy.ts"
import { make } from "../src/services/LastUsed.ts"
import { betterAuthDatabase, closeBetterAuthDatabase } from "../src/sql/Database.ts"

describe("retries", () => {
  it.effect("a failed lastUsedAt flush is retried at the next interval, with no further use of the token (memory)", () =>
    Effect.gen(function*() {
      let down = true
      const attempts: Array<ReadonlyArray<string>> = []
      const written: Array<string> = []
      const lastUsed = yield* make((ids) =>
        Effect.suspend(() => {
          attempts.push(ids)
          return down ? Effect.die(new Error("the database is down")) : Effect.sync(() => (written.push(...ids), []))
        })
      )
      yield* lastUsed.touch("token-1", null, yield* Clock.currentTimeMillis)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(attempts, [["token-1"]], "the first flush ran, and failed")
      assert.deepStrictEqual(written, [])
      down = false
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(written, ["token-1"], "retried an interval later")
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(attempts.length, 2, "and not again once written")
    }).pipe(Effect.scoped, Effect.provide(TokenPolicy.layer({ lastUsedInterval: "1 minute" }))))

  it.effect("at shutdown, a note whose row another transaction holds is tried again in real time until written; held throughout, it is named in a warning and shutdown still ends", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logs = Logger.layer([Logger.make((options) => void lines.push(String(options.message)))])
      // Held for the first two flushes, then free.
      let heldFor = 2
      const written: Array<string> = []
      yield* Effect.scoped(Effect.gen(function*() {
        const lastUsed = yield* make((ids) => Effect.sync(() => heldFor-- > 0 ? ids : (written.push(...ids), [])))
        yield* lastUsed.touch("token-1", null, yield* Clock.currentTimeMillis)
      }))
      assert.deepStrictEqual(written, ["token-1"], "written at the third try, with the test clock standing still")
      assert.deepStrictEqual(lines, [])
      let attempts = 0
      yield* Effect.scoped(Effect.gen(function*() {
        const lastUsed = yield* make((ids) => Effect.sync(() => (attempts++, ids)))
        yield* lastUsed.touch("token-2", null, yield* Clock.currentTimeMillis)
      })).pipe(Effect.provide(logs))
      assert.strictEqual(attempts, 100)
      assert.deepStrictEqual(lines, ["fusion-auth: lastUsedAt not written for 1 tokens at shutdown: other transactions held their rows"])
    }).pipe(Effect.provide(TokenPolicy.layer({ lastUsedInterval: "1 minute" }))), { timeout: 30_000 })

  it("a failed embedded open is retried on the next use of Better Auth's pool (pglite)", async () => {
    const root = mkdtempSync(join(tmpdir(), "fusion-auth-retry-"))
    const blocker = join(root, "data")
    writeFileSync(blocker, "a file where the folder should be") // the folder cannot be made
    // The embedded database, even where the suite runs with DATABASE_URL set.
    const serverUrl = process.env.DATABASE_URL
    process.env.DATABASE_URL = ""
    const database = betterAuthDatabase({ dataDir: join(blocker, "db") })
    try {
      // As Better Auth uses it: Kysely over the dialect.
      const db = new Kysely<Record<string, never>>({ dialect: database.dialect })
      const one = () => sql<{ one: number }>`select 1 as one`.execute(db)
      const failed = await one().then(() => undefined, (error: unknown) => error)
      assert.instanceOf(failed, Error, "the first open fails")
      rmSync(blocker)
      assert.deepStrictEqual((await one()).rows, [{ one: 1 }])
    } finally {
      if (serverUrl === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = serverUrl
      await closeBetterAuthDatabase(database)
      rmSync(root, { recursive: true, force: true })
    }
  })
})
