/**
 * One run of the bench: for each backend, a fresh database and fixture; a warm-up; rounds
 * in which every contender runs at every concurrency, in an order shuffled anew each round,
 * each sample starting on a collected heap (Postgres's backends' CPU read around each
 * sample); then the counting pass and the memory runs. With `scale`, the same again on a big fixture. Returns the table and the raw figures.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { mkdir, writeFile } from "node:fs/promises"
import os from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Clients } from "./clients.ts"
import { contenders as allContenders, type Op } from "./contenders.ts"
import { countAll } from "./count.ts"
import { type BackendName, type BenchDatabase, makeDatabase } from "./database.ts"
import { type Fixture, makeFixture } from "./fixture.ts"
import { measure } from "./measure.ts"
import { buildExample, httpContenders, runHttp } from "./http.ts"
import { measureMemory, type Memory } from "./memory.ts"
import type { BenchOptions, ScaleOptions } from "./options.ts"
import { type BackendResult, type SampleRecord, table } from "./report.ts"
import { makeScaleFixture, type ScaleFixture } from "./scale.ts"
import { serverCpu } from "./server-cpu.ts"
import { allTargets } from "./targets.ts"

export type Log = (line: string) => void

const root = fileURLToPath(new URL("..", import.meta.url))

const versionOf = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

const git = (...args: Array<string>): string => {
  try {
    return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()
  } catch {
    return "unknown"
  }
}

/** Where and on what the run happened, for the JSON and the docs. */
const describeMachine = () => ({
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGB: Math.round(os.totalmem() / 2 ** 30),
  loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
  versions: Object.fromEntries(
    ["better-auth", "@better-auth/api-key", "effect", "@effect/sql-pg", "@electric-sql/pglite", "pg"].map((p) => [p, versionOf(p)])
  ),
  git: { commit: git("rev-parse", "--short", "HEAD"), srcChanges: git("status", "--porcelain", "--", "src").split("\n").filter(Boolean).length }
})

/**
 * The contenders' order in a round: a shuffle seeded by the round (the same for every run), so
 * no contender always runs first, or after the same one. (Rotating one order kept each
 * contender's neighbours: one that leaves garbage behind, the API-key plugin's say, was
 * always followed by the same contender, whose ratio it lowered.)
 */
const orderFor = <A>(items: ReadonlyArray<A>, round: number): ReadonlyArray<A> => {
  const order = [...items]
  let seed = (round + 1) * 0x9e3779b9
  const random = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/**
 * A full collection before each timed sample: the garbage one contender leaves is not
 * collected on the next one's time (nor on its own: what is left at a sample's end is charged
 * to no one). `gc` is exposed on first use, not at import: the smoke run never asks for it.
 */
let gc: (() => void) | undefined
const collectGarbage = () => {
  if (gc === undefined) {
    setFlagsFromString("--expose-gc")
    gc = runInNewContext("gc") as () => void
  }
  gc()
}

const runBackend = async (backend: BackendName, options: BenchOptions, log: Log): Promise<BackendResult> => {
  const result = await runInProcess(backend, options, log, null)
  const http = options.http === null ? undefined : await runHttp(backend, options.http, log)
  return { ...result, http }
}

const runInProcess = async (
  backend: BackendName,
  options: BenchOptions,
  log: Log,
  scale: ScaleOptions | null
): Promise<BackendResult> => {
  const db: BenchDatabase = await makeDatabase(backend)
  const where = scale === null ? backend : `${backend} scale`
  const only = scale?.contenders
  const contenders = only === undefined ? allContenders : allContenders.filter((c) => only.includes(c.id))
  try {
    let fixture: Fixture
    let built: ScaleFixture | undefined
    if (scale === null) {
      log(`${where}: ${db.version}; fixture of ${options.sessions} sessions and ${options.tokens} tokens and keys`)
      fixture = await makeFixture(db.url, { sessions: options.sessions, tokens: options.tokens })
    } else {
      const n = (x: number) => x.toLocaleString("en-US")
      log(`${where}: ${db.version}; fixture of ${n(scale.tokens)} tokens, ${n(scale.sessions)} sessions, ${n(scale.apiKeys)} API keys, ${n(scale.users)} users (${n(scale.presented)} of each presented)`)
      built = await makeScaleFixture(db.url, scale, (line) => log(`${where}: ${line}`))
      fixture = built.fixture
      log(`${where}: fixture made in ${built.seconds.toFixed(1)} s`)
    }

    const samples: Array<SampleRecord> = []
    const clients = new Clients(db.url, db.database)
    const cpu = await serverCpu(db)
    try {
      const ops = new Map<string, Op>()
      const next = new Map<string, number>() // where each contender's inputs continue from
      for (const c of contenders) ops.set(c.id, await c.make(clients, fixture))
      const run = async (id: string, concurrency: number, milliseconds: number) => {
        if (options.mode !== "smoke") collectGarbage() // the smoke run's timings mean nothing: it saves the time
        const [sample, serverCpuMs] = await cpu.around(() =>
          measure(ops.get(id)!, { concurrency, milliseconds, maxOps: options.maxOpsPerSample }, next.get(id) ?? 0))
        next.set(id, (next.get(id) ?? 0) + sample.ops)
        return { sample, serverCpuMs }
      }
      log(`${where}: warm-up`)
      for (const c of contenders) {
        for (const concurrency of [...options.concurrencies].reverse()) await run(c.id, concurrency, options.warmupMs)
      }
      for (let round = 0; round < options.rounds; round++) {
        log(`${where}: round ${round + 1} of ${options.rounds}`)
        for (const c of orderFor(contenders, round)) {
          for (const concurrency of round % 2 === 0 ? options.concurrencies : [...options.concurrencies].reverse()) {
            samples.push({ round, contender: c.id, concurrency, ...(await run(c.id, concurrency, options.sampleMs)) })
          }
        }
      }
    } finally {
      await cpu.close()
      await clients.close()
    }
    if (cpu.unavailable !== undefined) log(`${where}: Postgres CPU n/a: ${cpu.unavailable}`)

    log(`${where}: counting statements and writes (one at a time, then ${options.countConcurrency} at once)`)
    const counts = await countAll(db, contenders, fixture, options.countOps, { n: options.countConcurrentOps, concurrency: options.countConcurrency })

    const memory: Record<string, Memory> = {}
    if (scale === null && options.memoryOps > 0 && options.memoryBackends.includes(backend)) {
      const ids = options.memoryContenders === "all" ? contenders.map((c) => c.id) : options.memoryContenders
      for (const id of ids) {
        log(`${backend}: memory after ${options.memoryOps.toLocaleString("en-US")} resolutions of ${id}`)
        memory[id] = await measureMemory(db.url, fixture, id, options.memoryOps)
      }
    }
    const { unavailable, source, resolutionMs } = cpu
    const fixtureOf = built === undefined
      ? ({ kind: "small", sessions: options.sessions, tokens: options.tokens } as const)
      : ({ kind: "scale", rows: built.rows, presented: scale!.presented, seconds: built.seconds, insertSeconds: built.insertSeconds, vacuumSeconds: built.vacuumSeconds } as const)
    return { backend, where, fixture: fixtureOf, version: db.version, samples, counts, memory, serverCpu: { unavailable, source, resolutionMs } }
  } finally {
    await db.close()
  }
}

export interface BenchRun {
  readonly table: string
  readonly file: string
  readonly results: ReadonlyArray<BackendResult>
}

export const runBench = async (options: BenchOptions, log: Log = () => undefined): Promise<BenchRun> => {
  const started = new Date()
  const machineBefore = describeMachine()
  const results: Array<BackendResult> = []
  if (options.http !== null) {
    log("building the example app (vite build) for the HTTP comparison")
    await buildExample()
  }
  for (const backend of options.backends) results.push(await runBackend(backend, options, log))
  for (const backend of options.scale?.backends ?? []) results.push(await runInProcess(backend, options, log, options.scale))
  const finished = new Date()
  const text = table(results, options.concurrencies)
  const dir = options.resultsDir ?? fileURLToPath(new URL("results/", import.meta.url))
  await mkdir(dir, { recursive: true })
  const file = join(dir, `bench-${options.mode}-${started.toISOString().replace(/[:.]/g, "-")}.json`)
  const json = {
    mode: options.mode,
    started: started.toISOString(),
    finished: finished.toISOString(),
    seconds: (finished.getTime() - started.getTime()) / 1000,
    machine: {
      ...machineBefore,
      loadAverageAfter: os.loadavg().map((n) => Number(n.toFixed(2))),
      gitAfter: describeMachine().git // src edited during the run shows here
    },
    options,
    contenders: allContenders.map(({ id, label, group }) => ({ id, label, group })),
    httpContenders,
    results,
    targets: allTargets(results, options.concurrencies),
    table: text
  }
  await writeFile(file, JSON.stringify(json, null, 2))
  return { table: text, file, results }
}
