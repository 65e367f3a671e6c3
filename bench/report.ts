/**
 * From raw samples to what a reader needs: medians and spread per contender, ratios taken
 * round by round (each round runs every contender back to back, so drift cancels), the
 * issue's targets met or missed, and the one table the bench prints.
 */
import type { Counts } from "./count.ts"
import { type Contender, contenders } from "./contenders.ts"
import type { BackendName } from "./database.ts"
import { httpContenders, httpRatio, httpReference, type HttpResult, summarizeHttp } from "./http.ts"
import type { Memory } from "./memory.ts"
import { median, type Sample, spread } from "./measure.ts"

export interface SampleRecord {
  readonly round: number
  readonly contender: string
  readonly concurrency: number
  readonly sample: Sample
}

export interface BackendResult {
  readonly backend: BackendName
  readonly version: string
  readonly samples: ReadonlyArray<SampleRecord>
  readonly counts: Record<string, Counts>
  readonly memory: Record<string, Memory>
  /** The HTTP-level comparison, when it ran. */
  readonly http?: HttpResult | undefined
}

export interface Summary {
  readonly opsPerSecond: number
  /** Half the interquartile range over rounds, relative to the median. */
  readonly spread: number
  readonly p50: number
  readonly p99: number
  /** Microseconds of the bench process's CPU per resolution (the database's own is not in it, except PGlite's). */
  readonly cpuPerOp: number
  readonly rounds: ReadonlyArray<number>
}

export const summarize = (result: BackendResult, id: string, concurrency: number): Summary => {
  const mine = result.samples.filter((s) => s.contender === id && s.concurrency === concurrency)
  const rounds = mine.map((s) => s.sample.opsPerSecond)
  return {
    opsPerSecond: median(rounds),
    spread: spread(rounds),
    p50: median(mine.map((s) => s.sample.p50)),
    p99: median(mine.map((s) => s.sample.p99)),
    cpuPerOp: median(mine.map((s) => s.sample.cpuPerOp)),
    rounds
  }
}

/** Throughput of `a` over `b` at this concurrency: the median of the per-round ratios. */
export const ratio = (result: BackendResult, a: string, b: string, concurrency: number): number => {
  const of = (id: string) => result.samples.filter((s) => s.contender === id && s.concurrency === concurrency)
  const bs = new Map(of(b).map((s) => [s.round, s.sample.opsPerSecond]))
  return median(of(a).flatMap((s) => (bs.has(s.round) ? [s.sample.opsPerSecond / bs.get(s.round)!] : [])))
}

/** What each contender's ratio column compares it with. */
export const reference: Record<string, string> = {
  "fusion.token": "floor.select",
  "apikey.default": "fusion.token",
  "apikey.nolimit": "fusion.token",
  "fusion.cookie.off": "plain.cookie.off",
  "fusion.cookie.on": "plain.cookie.on",
  "fusion.malformed": "apikey.malformed",
  "fusion.unknown": "floor.select",
  "apikey.unknown": "fusion.unknown",
  "floor.select": "floor.select1",
  "floor.session": "fusion.cookie.off"
}

/** The cookie path's throughput targets against plain `getSession`, per backend (issue 11). */
export const COOKIE_TARGETS: Record<BackendName, { readonly off: number; readonly on: number }> = {
  postgres: { off: 5, on: 2.5 },
  pglite: { off: 3, on: 1.5 }
}

export interface Target {
  readonly backend: BackendName
  readonly target: string
  readonly measured: string
  /** `null`: not measured in this run. */
  readonly met: boolean | null
}

const ms = (n: number) => (Number.isFinite(n) ? (n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1)) : "—")
const x = (n: number) => (Number.isFinite(n) ? `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×` : "n/a")
const perRes = (n: number | undefined) => (n === undefined ? "n/a" : Number.isInteger(n) ? String(n) : n.toFixed(2))
const measured = (n: number, check: (n: number) => boolean) => (Number.isFinite(n) ? check(n) : null)

export const targets = (result: BackendResult, concurrencies: ReadonlyArray<number>): ReadonlyArray<Target> => {
  const { backend, counts, memory } = result
  const out: Array<Target> = []
  const add = (target: string, text: string, met: boolean | null) => out.push({ backend, target, measured: text, met })
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
  for (const id of ["fusion.token", "fusion.unknown", "fusion.cookie.off"]) {
    const m = memory[id]
    add(`memory flat over ${m ? m.resolutions.toLocaleString("en-US") : "the"} resolutions (${id}; heap growth < 2 MB)`,
      m ? `heap ${m.heapGrowthMB >= 0 ? "+" : ""}${m.heapGrowthMB.toFixed(2)} MB, RSS ${m.finalRssMB.toFixed(0)} MB` : "not measured",
      m ? m.heapGrowthMB < 2 : null)
  }
  return out
}

const ops = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—")
const pct = (n: number) => `±${Math.round(n * 100)}%`

/** The one table: a row per backend and contender, then the targets. */
export const table = (results: ReadonlyArray<BackendResult>, concurrencies: ReadonlyArray<number>): string => {
  const top = Math.max(...concurrencies)
  const header = ["backend", "contender"]
  for (const c of concurrencies) header.push(`c=${c} ops/s`, "spread", "p50 ms", "p99 ms")
  header.push(`CPU µs (c=${top})`, "stmts", "writes", "RSS MB", `ratio (c=${top})`)
  const rows: Array<Array<string>> = [header]
  for (const result of results) {
    for (const contender of contenders as ReadonlyArray<Contender>) {
      const row = [result.backend, contender.label]
      for (const c of concurrencies) {
        const s = summarize(result, contender.id, c)
        row.push(ops(s.opsPerSecond), pct(s.spread), ms(s.p50), ms(s.p99))
      }
      const cpu = summarize(result, contender.id, top).cpuPerOp
      row.push(Number.isFinite(cpu) ? cpu.toFixed(cpu < 100 ? 1 : 0) : "—")
      const n = result.counts[contender.id]
      const m = result.memory[contender.id]
      const ref = reference[contender.id]
      row.push(
        n ? perRes(n.statements) + (n.statementsRange[0] !== n.statementsRange[1] ? ` (${n.statementsRange.join("–")})` : "") : "—",
        n ? perRes(n.writes) : "—",
        m ? m.finalRssMB.toFixed(0) : "—",
        ref ? `${x(ratio(result, contender.id, ref, top))} ${ref}` : ""
      )
      rows.push(row)
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const numeric = (i: number) => i >= 2 && i < header.length - 1
  const line = (r: ReadonlyArray<string>) =>
    r.map((cell, i) => (numeric(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")]
  let last = ""
  for (const r of rows.slice(1)) {
    if (last !== "" && r[0] !== last) out.push("")
    last = r[0]!
    out.push(line(r))
  }
  out.push(...httpTable(results))
  out.push("", "targets")
  for (const result of results) {
    for (const t of targets(result, concurrencies)) {
      const mark = t.met === null ? "n/a   " : t.met ? "met   " : "MISSED"
      out.push(`  ${mark}  ${t.backend.padEnd(8)}  ${t.target}: ${t.measured}`)
    }
  }
  return out.join("\n")
}

/** The HTTP-level table: requests per second and latency per contender and concurrency, with ratios. */
const httpTable = (results: ReadonlyArray<BackendResult>): ReadonlyArray<string> => {
  const ran = results.filter((r) => r.http !== undefined)
  if (ran.length === 0) return []
  const concurrencies = [...new Set(ran.flatMap((r) => r.http!.samples.map((s) => s.connections)))].sort((a, b) => a - b)
  const header = ["backend", "HTTP (autocannon, loopback)"]
  for (const c of concurrencies) header.push(`c=${c} req/s`, "p50 ms", "p99 ms", "ratio")
  const rows: Array<Array<string>> = [header]
  for (const { backend, http } of ran) {
    for (const contender of httpContenders) {
      const row = [backend, contender.label]
      for (const c of concurrencies) {
        const s = summarizeHttp(http!, contender.id, c)
        const ref = httpReference[contender.id]
        row.push(ops(s.requestsPerSecond), ms(s.p50), ms(s.p99), ref ? `${x(httpRatio(http!, contender.id, ref, c))}` : "")
      }
      rows.push(row)
    }
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const line = (r: ReadonlyArray<string>) => r.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd()
  return ["", line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line),
    "ratio: /api/me with a cookie over Better Auth's get-session; with a token over the api-key plugin (medians of per-round ratios)"]
}
