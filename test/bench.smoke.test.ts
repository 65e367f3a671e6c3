/**
 * The bench cannot rot: a smoke run of it (tiny budgets, seconds) on every backend the suite
 * has, with a tiny scale pass on Postgres. It asserts only what timing cannot change: the
 * statements and writes each path costs, one at a time and 32 at once, that Postgres's CPU was
 * read where it can be and "n/a" where it cannot, and that the tables and the JSON name every
 * contender. Never a timing.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runBench } from "../bench/bench.ts"
import { contenders } from "../bench/contenders.ts"
import type { BackendName } from "../bench/database.ts"
import { presets, SMOKE_SCALE } from "../bench/options.ts"
import type { BackendResult } from "../bench/report.ts"
import type { Target } from "../bench/targets.ts"

const backends: ReadonlyArray<BackendName> = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"]
const local = (url: string | undefined) => url === undefined || ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname)

/** The counts of the contenders this result ran (the scale pass runs a few): exact, whatever the timing. */
const assertCounts = (result: BackendResult) => {
  const { counts } = result
  const ran = (ids: ReadonlyArray<string>) => ids.filter((id) => id in counts)
  for (const id of ran(["fusion.token", "fusion.unknown"])) {
    assert.strictEqual(counts[id]!.statements, 1, id)
    assert.deepStrictEqual(counts[id]!.statementsRange, [1, 1], id)
    assert.strictEqual(counts[id]!.writes, 0, id)
    assert.include([0, null], counts[id]!.rowsWritten, id)
  }
  for (const id of ran(["fusion.malformed"])) assert.strictEqual(counts[id]!.statements, 0)
  // The native cookie path: one statement (session ⋈ user) and no write, with the cookie cache off and on.
  for (const id of ran(["fusion.cookie.off", "fusion.cookie.on"])) {
    assert.strictEqual(counts[id]!.statements, 1, id)
    assert.deepStrictEqual(counts[id]!.statementsRange, [1, 1], id)
    assert.strictEqual(counts[id]!.writes, 0, id)
  }
  for (const id of ran(["plain.cookie.off"])) assert.strictEqual(counts[id]!.statements, 2)
  for (const id of ran(["floor.select", "floor.session", "floor.select1"])) assert.strictEqual(counts[id]!.statements, 1, id)

  // 32 in flight: the floors still one statement each, a malformed token none, fusion-auth's paths batched and no write.
  for (const id of Object.keys(counts)) {
    const n = counts[id]!.concurrent!
    assert.strictEqual(n.concurrency, presets.smoke.countConcurrency, id)
    assert.strictEqual(n.resolutions, presets.smoke.countConcurrentOps, id)
  }
  for (const id of ran(["floor.select", "floor.session", "floor.select1"])) {
    assert.strictEqual(counts[id]!.concurrent!.statements, 1, id)
    assert.strictEqual(counts[id]!.concurrent!.batches, 0, id)
  }
  for (const id of ran(["fusion.malformed"])) assert.strictEqual(counts[id]!.concurrent!.statements, 0)
  for (const id of ran(["fusion.token", "fusion.unknown", "fusion.cookie.off", "fusion.cookie.on"])) {
    const n = counts[id]!.concurrent!
    assert.isAbove(n.statements, 0, id)
    assert.isAtMost(n.statements, 0.25, id)
    assert.strictEqual(n.writes, 0, id)
    if (n.batches > 0) assert.isAtLeast(n.keysPerBatch!, 2, id) // one session in the small fixture: its lookups share one key, `= $1`
  }
}

const assertServerCpu = (result: BackendResult) => {
  const cpu = result.samples.map((s) => s.serverCpuMs)
  if (result.backend === "pglite" || !local(process.env.DATABASE_URL)) {
    assert.isDefined(result.serverCpu.unavailable)
    assert.isTrue(cpu.every((ms) => ms === null))
  } else {
    assert.isUndefined(result.serverCpu.unavailable)
    assert.include(["schedstat", "stat"], result.serverCpu.source)
    assert.isTrue(cpu.every((ms) => ms !== null && ms >= 0))
  }
}

describe("bench smoke run", () => {
  for (const backend of backends) {
    // The scale pass runs on Postgres only, as `--scale` does (on PGlite it would boot a second database: seconds more).
    const scale = backend === "postgres"
    it(`on ${backend}: every contender timed and counted at c=1 and c=32; token 1 statement 0 writes, malformed 0${scale ? "; scale pass" : ""}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), "fusion-bench-smoke-"))
      try {
        const run = await runBench({
          ...presets.smoke,
          backends: [backend],
          scale: scale ? { ...SMOKE_SCALE, backends: [backend] } : null,
          resultsDir: dir
        })
        assert.lengthOf(run.results, scale ? 2 : 1)
        assert.lengthOf(Object.keys(run.results[0]!.counts), contenders.length)
        for (const result of run.results) {
          assertCounts(result)
          assertServerCpu(result)
        }

        for (const contender of contenders) assert.include(run.table, contender.label)
        assert.include(run.table, `stmts c=${presets.smoke.countConcurrency}`)
        assert.include(run.table, "PG CPU ms/1k")
        const json = JSON.parse(await readFile(run.file, "utf8")) as { results: ReadonlyArray<BackendResult>; targets: ReadonlyArray<Target> }
        const [result] = json.results
        assert.strictEqual(result!.backend, backend)
        assert.strictEqual(result!.fixture.kind, "small")
        for (const contender of contenders) {
          assert.property(result!.counts, contender.id)
          for (const concurrency of presets.smoke.concurrencies) {
            const sample = result!.samples.find((s) => s.contender === contender.id && s.concurrency === concurrency)
            assert.isAbove(sample!.sample.ops, 0, `${contender.id} at concurrency ${concurrency} ran`)
          }
        }
        assert.isTrue(json.targets.some((t) => t.target.includes("statements per resolution with 32 in flight")))
        assert.isTrue(json.targets.some((t) => t.target.includes("Postgres CPU per 1,000 resolutions")))

        if (scale) {
          const big = json.results[1]!
          assert.strictEqual(big.where, `${backend} scale`)
          assert.sameMembers(Object.keys(big.counts), [...SMOKE_SCALE.contenders!])
          // The rows asked for, plus the templates made the ordinary way (two users, one session, token and key).
          assert.deepStrictEqual(big.fixture.kind === "scale" && big.fixture.rows, {
            users: SMOKE_SCALE.users + 2,
            tokens: SMOKE_SCALE.tokens + 1,
            sessions: SMOKE_SCALE.sessions + 1,
            apiKeys: SMOKE_SCALE.apiKeys + 1
          })
          assert.include(run.table, `${backend} scale: ${SMOKE_SCALE.tokens + 1} tokens`)
          assert.isTrue(json.targets.some((t) => t.where === big.where && t.target.includes("of the small fixture's ratio")))
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })
  }
})
