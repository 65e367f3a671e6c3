/**
 * The bench cannot rot: a smoke run of it (tiny budgets, seconds) on every backend the suite
 * has. It asserts only what timing cannot change: the statements and writes each path costs
 * and that the table and the JSON name every contender. Never a timing.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runBench } from "../bench/bench.ts"
import { contenders } from "../bench/contenders.ts"
import type { BackendName } from "../bench/database.ts"
import { presets } from "../bench/options.ts"
import type { BackendResult } from "../bench/report.ts"

const backends: ReadonlyArray<BackendName> = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"]

describe("bench smoke run", () => {
  for (const backend of backends) {
    it(`on ${backend}: every contender timed and counted; token 1 statement 0 writes, malformed 0`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "fusion-bench-smoke-"))
      try {
        const run = await runBench({ ...presets.smoke, backends: [backend], resultsDir: dir })
        const { counts } = run.results[0]!

        assert.strictEqual(counts["fusion.token"]!.statements, 1)
        assert.deepStrictEqual(counts["fusion.token"]!.statementsRange, [1, 1])
        assert.strictEqual(counts["fusion.token"]!.writes, 0)
        assert.include([0, null], counts["fusion.token"]!.rowsWritten)
        assert.strictEqual(counts["fusion.unknown"]!.statements, 1)
        assert.strictEqual(counts["fusion.unknown"]!.writes, 0)
        assert.strictEqual(counts["fusion.malformed"]!.statements, 0)
        // The native cookie path: one statement (session ⋈ user) and no write, with the cookie cache off and on.
        for (const id of ["fusion.cookie.off", "fusion.cookie.on"]) {
          assert.strictEqual(counts[id]!.statements, 1, id)
          assert.deepStrictEqual(counts[id]!.statementsRange, [1, 1], id)
          assert.strictEqual(counts[id]!.writes, 0, id)
        }
        assert.strictEqual(counts["plain.cookie.off"]!.statements, 2)
        assert.strictEqual(counts["floor.select"]!.statements, 1)
        assert.strictEqual(counts["floor.session"]!.statements, 1)

        for (const contender of contenders) assert.include(run.table, contender.label)
        const json = JSON.parse(await readFile(run.file, "utf8")) as { results: ReadonlyArray<BackendResult> }
        const [result] = json.results
        assert.strictEqual(result!.backend, backend)
        for (const contender of contenders) {
          assert.property(result!.counts, contender.id)
          for (const concurrency of presets.smoke.concurrencies) {
            const sample = result!.samples.find((s) => s.contender === contender.id && s.concurrency === concurrency)
            assert.isAbove(sample!.sample.ops, 0, `${contender.id} at concurrency ${concurrency} ran`)
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
