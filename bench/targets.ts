/**
 * The issues' targets, met or missed, per result: issue 11's throughput and statement counts,
 * issue 21's statements per resolution at c=32, throughput over the one-statement floor,
 * Postgres's CPU per 1,000 resolutions against the floor's, and the scale pass's ratios
 * against the small fixture's; issue 22's token path with a rate limit against the same path
 * without one. `met: null` when this run did not measure it.
 */
import type { BackendName } from "./database.ts"
import { type BackendResult, ms, perRes, ratio, serverCpuPer1000, serverCpuRatio, summarize, x } from "./report.ts"

export interface Target {
  readonly backend: BackendName
  /** The backend, and "scale" on the big fixture. */
  readonly where: string
  readonly target: string
  readonly measured: string
  /** `null`: not measured in this run. */
  readonly met: boolean | null
}

/** The cookie path's throughput targets against plain `getSession`, per backend (issue 11). */
export const COOKIE_TARGETS: Record<BackendName, { readonly off: number; readonly on: number }> = {
  postgres: { off: 5, on: 2.5 },
  pglite: { off: 3, on: 1.5 }
}

/** Issue 21: statements per resolution with 32 in flight, throughput over the floor, Postgres CPU over the floor's. */
export const BATCH_TARGETS = { statements: 0.25, overFloor: 1.5, cpuOverFloor: 1 / 3, scaleDrift: 0.1 }

/**
 * Issue 22: the token path through `requireSession` with a rate limit, counted in memory and in
 * Redis, over the same path without one, at least this fraction of its throughput.
 */
export const RATE_LIMIT_TARGETS = [
  { id: "fusion.token.limited", counted: "in memory", min: 0.9 },
  { id: "fusion.token.redis", counted: "in Redis", min: 0.8 }
] as const

const measured = (n: number, check: (n: number) => boolean) => (Number.isFinite(n) ? check(n) : null)

/** The fusion-auth paths and the one-statement floor each is held against. */
const PATHS = [
  { id: "fusion.token", what: "token path", floor: "floor.select" },
  { id: "fusion.cookie.off", what: "cookie path, cache off", floor: "floor.session" },
  { id: "fusion.cookie.on", what: "cookie path, cache on", floor: "floor.session" }
] as const

export const targets = (result: BackendResult, concurrencies: ReadonlyArray<number>): ReadonlyArray<Target> => {
  const { backend, where, counts, memory } = result
  const out: Array<Target> = []
  const add = (target: string, text: string, met: boolean | null) => out.push({ backend, where, target, measured: text, met })
  const oneStatement = (id: string, what: string) => {
    const n = counts[id]
    add(`${what}: 1 statement, 0 writes per resolution`,
      `${perRes(n?.statements)} statements, ${perRes(n?.writes)} writes` + (n?.deferredStatements ? ` (+${n.deferredStatements} deferred at close)` : ""),
      n ? n.statements === 1 && n.statementsRange[1] === 1 && n.writes === 0 : null)
  }
  const top = Math.max(...concurrencies)

  oneStatement("fusion.token", "token path")
  const best = ratio(result, "fusion.token", "apikey.nolimit", top)
  add(`token path ≥ 3× api-key plugin best case (c=${top})`, x(best), measured(best, (r) => r >= 3))
  const floor = ratio(result, "floor.select", "fusion.token", top)
  add(`token path within 1.3× of the bare SELECT floor (c=${top})`, `floor is ${x(floor)} faster`, measured(floor, (r) => r <= 1.3))
  for (const { id, counted, min } of RATE_LIMIT_TARGETS) {
    oneStatement(id, `token path, rate limit counted ${counted}`)
    for (const c of concurrencies) {
      const r = ratio(result, id, "fusion.token.required", c)
      add(`token path, rate limit counted ${counted}: ≥ ${min}× the same path without one, fusion.token.required (c=${c})`, x(r), measured(r, (v) => v >= min))
    }
  }
  const malformed = counts["fusion.malformed"]
  add("malformed token: 0 statements", `${perRes(malformed?.statements)} statements`, malformed ? malformed.statements === 0 : null)
  for (const c of concurrencies) {
    const r = ratio(result, "fusion.malformed", "apikey.malformed", c)
    add(`malformed token ≥ 20× the api-key plugin's malformed-key rejection (c=${c})`, x(r), measured(r, (v) => v >= 20))
  }

  for (const cache of ["off", "on"] as const) {
    const id = `fusion.cookie.${cache}`
    const plain = `plain.cookie.${cache}`
    const goal = COOKIE_TARGETS[backend][cache]
    oneStatement(id, `cookie path, cache ${cache}`)
    for (const c of concurrencies) {
      const r = ratio(result, id, plain, c)
      add(`cookie path, cache ${cache}: ≥ ${goal}× plain getSession${cache === "on" ? " with its cache" : ""} (c=${c})`, x(r), measured(r, (v) => v >= goal))
    }
    for (const c of concurrencies) {
      const r = ratio(result, "floor.session", id, c)
      add(`cookie path, cache ${cache}: within 1.3× of the bare session ⋈ user SELECT (c=${c})`, `floor is ${x(r)} faster`, measured(r, (v) => v <= 1.3))
    }
    for (const c of concurrencies) {
      const mine = summarize(result, id, c).p99
      const theirs = summarize(result, plain, c).p99
      add(`cookie path, cache ${cache}: p99 no worse than plain getSession's (c=${c})`, `${ms(mine)} ms vs ${ms(theirs)} ms`,
        Number.isFinite(mine) && Number.isFinite(theirs) ? mine <= theirs : null)
    }
  }

  const { statements, overFloor, cpuOverFloor } = BATCH_TARGETS
  for (const path of PATHS) {
    const n = counts[path.id]?.concurrent
    add(`${path.what}: ≤ ${statements} statements per resolution with ${n?.concurrency ?? 32} in flight`,
      n ? `${perRes(n.statements)} (${n.batches} batched statements${n.keysPerBatch === null ? "" : `, ${n.keysPerBatch.toFixed(1)} keys each`})` : "not counted",
      n ? n.statements <= statements : null)
  }
  for (const path of PATHS) {
    const r = ratio(result, path.id, path.floor, top)
    add(`${path.what}: ≥ ${overFloor}× the throughput of its one-statement floor, ${path.floor} (c=${top})`, x(r), measured(r, (v) => v >= overFloor))
  }
  for (const path of PATHS) {
    const mine = serverCpuPer1000(result, path.id, top)
    const theirs = serverCpuPer1000(result, path.floor, top)
    const r = serverCpuRatio(result, path.id, top)
    add(`${path.what}: Postgres CPU per 1,000 resolutions ≤ 1/3 of ${path.floor}'s (c=${top})`,
      r === null ? `n/a${result.serverCpu.unavailable ? `: ${result.serverCpu.unavailable}` : ""}` : `${mine!.toFixed(2)} ms vs ${theirs!.toFixed(2)} ms: ${r.toFixed(2)}×`,
      r === null ? null : r <= cpuOverFloor)
  }

  if (result.fixture.kind === "small") {
    for (const id of ["fusion.token", "fusion.unknown", "fusion.cookie.off"]) {
      const m = memory[id]
      add(`memory flat over ${m ? m.resolutions.toLocaleString("en-US") : "the"} resolutions (${id}; heap growth < 2 MB)`,
        m ? `heap ${m.heapGrowthMB >= 0 ? "+" : ""}${m.heapGrowthMB.toFixed(2)} MB, RSS ${m.finalRssMB.toFixed(0)} MB` : "not measured",
        m ? m.heapGrowthMB < 2 : null)
    }
  }
  return out
}

/** The ratios the scale pass must keep: each fusion-auth path over its floor and over what an app would use instead. */
const SCALE_RATIOS = [
  ...PATHS.map((p) => [p.id, p.floor] as const),
  ["fusion.token", "apikey.nolimit"],
  ["fusion.cookie.off", "plain.cookie.off"],
  ["fusion.cookie.on", "plain.cookie.on"]
] as const

/** The scale pass against the small fixture on the same backend: each ratio within 10%. */
export const scaleTargets = (results: ReadonlyArray<BackendResult>, concurrencies: ReadonlyArray<number>): ReadonlyArray<Target> => {
  const top = Math.max(...concurrencies)
  return results.filter((r) => r.fixture.kind === "scale").flatMap((big) => {
    const small = results.find((r) => r.backend === big.backend && r.fixture.kind === "small")
    return SCALE_RATIOS.map(([a, b]): Target => {
      const r1 = small === undefined ? Number.NaN : ratio(small, a, b, top)
      const r2 = ratio(big, a, b, top)
      const drift = r2 / r1 - 1
      return {
        backend: big.backend,
        where: big.where,
        target: `${a} over ${b} within ${BATCH_TARGETS.scaleDrift * 100}% of the small fixture's ratio (c=${top})`,
        measured: small === undefined ? "no small fixture in this run" : `${x(r2)} vs ${x(r1)} (${drift >= 0 ? "+" : ""}${(drift * 100).toFixed(0)}%)`,
        met: measured(drift, (d) => Math.abs(d) <= BATCH_TARGETS.scaleDrift)
      }
    })
  })
}

export const allTargets = (results: ReadonlyArray<BackendResult>, concurrencies: ReadonlyArray<number>): ReadonlyArray<Target> => [
  ...results.flatMap((r) => targets(r, concurrencies)),
  ...scaleTargets(results, concurrencies)
]
