/**
 * From raw samples to what a reader needs: medians and spread per contender, ratios taken
 * round by round (each round runs every contender back to back, so drift cancels),
 * Postgres's CPU per 1,000 resolutions, the issues' targets met or missed (`targets.ts`),
 * and the tables the bench prints.
 */
import type { Counts } from "./count.ts"
import { type Contender, contenders } from "./contenders.ts"
import type { BackendName } from "./database.ts"
import { httpContenders, httpRatio, httpReference, type HttpResult, summarizeHttp } from "./http.ts"
import type { Memory } from "./memory.ts"
import { median, type Sample, spread } from "./measure.ts"
import type { ServerCpuSource } from "./server-cpu.ts"
import { allTargets } from "./targets.ts"

export interface SampleRecord {
  readonly round: number
  readonly contender: string
  readonly concurrency: number
  readonly sample: Sample
  /** Milliseconds of CPU the database's client backends spent during the sample; `null`: not measured. */
  readonly serverCpuMs: number | null
}

export type FixtureInfo =
  | { readonly kind: "small"; readonly sessions: number; readonly tokens: number }
  | {
    readonly kind: "scale"
    readonly rows: { readonly users: number; readonly tokens: number; readonly sessions: number; readonly apiKeys: number }
    readonly presented: number
    /** To make it: in all, the bulk inserts, the `vacuum analyze`. */
    readonly seconds: number
    readonly insertSeconds: number
    readonly vacuumSeconds: number
  }

export interface BackendResult {
  readonly backend: BackendName
  /** The backend, and "scale" on the big fixture: how the tables name this result. */
  readonly where: string
  readonly fixture: FixtureInfo
  readonly version: string
  readonly samples: ReadonlyArray<SampleRecord>
  readonly counts: Record<string, Counts>
  readonly memory: Record<string, Memory>
  /** How Postgres's CPU was read, or why it was not. */
  readonly serverCpu: ServerCpuSource
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

/**
 * Milliseconds of the database's backends' CPU per 1,000 resolutions at this concurrency:
 * all rounds' CPU over all their resolutions (pooled, so the clock's 10 ms ticks, where the
 * finer reading is missing, weigh little). `null`: not measured.
 */
export const serverCpuPer1000 = (result: BackendResult, id: string, concurrency: number): number | null => {
  const mine = result.samples.filter((s) => s.contender === id && s.concurrency === concurrency && s.serverCpuMs !== null)
  const ops = mine.reduce((n, s) => n + s.sample.ops, 0)
  return mine.length === 0 || ops === 0 ? null : (mine.reduce((n, s) => n + s.serverCpuMs!, 0) / ops) * 1000
}

/** What each fusion-auth path's Postgres CPU is compared with: its one-statement floor. */
export const cpuReference: Record<string, string> = {
  "fusion.token": "floor.select",
  "fusion.token.required": "floor.select",
  "fusion.token.limited": "floor.select",
  "fusion.token.redis": "floor.select",
  "fusion.unknown": "floor.select",
  "fusion.cookie.off": "floor.session",
  "fusion.cookie.on": "floor.session"
}

export const serverCpuRatio = (result: BackendResult, id: string, concurrency: number): number | null => {
  const ref = cpuReference[id]
  const a = serverCpuPer1000(result, id, concurrency)
  const b = ref === undefined ? null : serverCpuPer1000(result, ref, concurrency)
  return a === null || b === null || b === 0 ? null : a / b
}

/** What each contender's ratio column compares it with. */
export const reference: Record<string, string> = {
  "fusion.token": "floor.select",
  "fusion.token.required": "fusion.token",
  "fusion.token.limited": "fusion.token.required",
  "fusion.token.redis": "fusion.token.required",
  "apikey.default": "fusion.token.limited",
  "apikey.nolimit": "fusion.token",
  "fusion.cookie.off": "plain.cookie.off",
  "fusion.cookie.on": "plain.cookie.on",
  "fusion.malformed": "apikey.malformed",
  "fusion.unknown": "floor.select",
  "apikey.unknown": "fusion.unknown",
  "floor.select": "floor.select1",
  "floor.session": "fusion.cookie.off"
}

export const ms = (n: number) => (Number.isFinite(n) ? (n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1)) : "—")
export const x = (n: number) => (Number.isFinite(n) ? `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×` : "n/a")
export const perRes = (n: number | undefined) => (n === undefined ? "n/a" : Number.isInteger(n) ? String(n) : n.toFixed(n < 0.1 ? 3 : 2))
/** A CPU figure; "≈" when the 10 ms clock ticks it was read in make it rough (under 100 ticks in all). */
const cpuText = (result: BackendResult, id: string, concurrency: number) => {
  const v = serverCpuPer1000(result, id, concurrency)
  if (v === null) return "n/a"
  const total = result.samples.filter((s) => s.contender === id && s.concurrency === concurrency).reduce((n, s) => n + (s.serverCpuMs ?? 0), 0)
  const rough = (result.serverCpu.resolutionMs ?? 0) >= 1 && total < 100 * result.serverCpu.resolutionMs!
  return `${rough ? "≈" : ""}${v < 10 ? v.toFixed(2) : v.toFixed(1)}`
}

const ops = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—")
const pct = (n: number) => `±${Math.round(n * 100)}%`

/** The contenders this result has figures for (a scale pass may run fewer). */
const ran = (result: BackendResult): ReadonlyArray<Contender> => contenders.filter((c) => c.id in result.counts)

/** The one table: a row per backend and contender, then the targets. */
export const table = (results: ReadonlyArray<BackendResult>, concurrencies: ReadonlyArray<number>): string => {
  const top = Math.max(...concurrencies)
  const header = ["backend", "contender"]
  for (const c of concurrencies) header.push(`c=${c} ops/s`, "spread", "p50 ms", "p99 ms")
  const counted = results.flatMap((r) => Object.values(r.counts)).find((n) => n.concurrent !== null)?.concurrent?.concurrency ?? top
  header.push(`CPU µs (c=${top})`, "stmts", `stmts c=${counted}`, "writes", "RSS MB", `PG CPU ms/1k (c=${top})`, "PG CPU/floor", `ratio (c=${top})`)
  const rows: Array<Array<string>> = [header]
  for (const result of results) {
    for (const contender of ran(result)) {
      const row = [result.where, contender.label]
      for (const c of concurrencies) {
        const s = summarize(result, contender.id, c)
        row.push(ops(s.opsPerSecond), pct(s.spread), ms(s.p50), ms(s.p99))
      }
      const cpu = summarize(result, contender.id, top).cpuPerOp
      row.push(Number.isFinite(cpu) ? cpu.toFixed(cpu < 100 ? 1 : 0) : "—")
      const n = result.counts[contender.id]
      const m = result.memory[contender.id]
      const ref = reference[contender.id]
      const cpuRatio = serverCpuRatio(result, contender.id, top)
      row.push(
        n ? perRes(n.statements) + (n.statementsRange[0] !== n.statementsRange[1] ? ` (${n.statementsRange.join("–")})` : "") : "—",
        n?.concurrent ? perRes(n.concurrent.statements) : "—",
        n ? perRes(n.writes) : "—",
        m ? m.finalRssMB.toFixed(0) : "—",
        cpuText(result, contender.id, top),
        cpuRatio === null ? "" : cpuRatio.toFixed(2),
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
  out.push(...cpuNotes(results), ...httpTable(results), ...scaleTable(results, top))
  out.push("", "targets")
  const width = Math.max(8, ...results.map((r) => r.where.length))
  for (const t of allTargets(results, concurrencies)) {
    const mark = t.met === null ? "n/a   " : t.met ? "met   " : "MISSED"
    out.push(`  ${mark}  ${t.where.padEnd(width)}  ${t.target}: ${t.measured}`)
  }
  return out.join("\n")
}

/** Where Postgres's CPU column comes from, or why it is n/a. */
const cpuNotes = (results: ReadonlyArray<BackendResult>): ReadonlyArray<string> =>
  results.map(({ where, serverCpu: c }) =>
    `PG CPU (${where}): ${c.unavailable !== undefined ? `n/a: ${c.unavailable}` : c.source === "schedstat"
      ? "the database's client backends, /proc/<pid>/schedstat (ns)"
      : `the database's client backends, /proc/<pid>/stat utime+stime (${c.resolutionMs} ms ticks)`}`)

/** The scale pass next to the small fixture, per backend that ran both: the ratio column, statements at c=32, CPU over the floor. */
const scaleTable = (results: ReadonlyArray<BackendResult>, top: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const big of results.filter((r) => r.fixture.kind === "scale")) {
    const small = results.find((r) => r.backend === big.backend && r.fixture.kind === "small")
    if (big.fixture.kind !== "scale") continue
    const f = big.fixture
    const n = (v: number) => v.toLocaleString("en-US")
    out.push("", `${big.where}: ${n(f.rows.tokens)} tokens, ${n(f.rows.sessions)} sessions, ${n(f.rows.apiKeys)} API keys, ${n(f.rows.users)} users; ` +
      `${n(f.presented)} of each presented; made in ${f.seconds.toFixed(0)} s (inserts ${f.insertSeconds.toFixed(0)} s, vacuum analyze ${f.vacuumSeconds.toFixed(0)} s)`)
    if (small === undefined) continue
    const header = ["contender", `ratio (c=${top})`, "small", "scale", "change", "stmts c=32 small", "scale", "PG CPU/floor small", "scale"]
    const rows = [header]
    for (const contender of ran(big)) {
      const ref = reference[contender.id]
      const a = ref ? ratio(small, contender.id, ref, top) : Number.NaN
      const b = ref ? ratio(big, contender.id, ref, top) : Number.NaN
      const c1 = small.counts[contender.id]?.concurrent
      const c2 = big.counts[contender.id]?.concurrent
      const r1 = serverCpuRatio(small, contender.id, top)
      const r2 = serverCpuRatio(big, contender.id, top)
      rows.push([contender.label, ref ?? "", ref ? x(a) : "", ref ? x(b) : "",
        ref && Number.isFinite(a / b) ? `${b >= a ? "+" : ""}${(((b / a) - 1) * 100).toFixed(0)}%` : "",
        c1 ? perRes(c1.statements) : "—", c2 ? perRes(c2.statements) : "—",
        r1 === null ? "" : r1.toFixed(2), r2 === null ? "" : r2.toFixed(2)])
    }
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
    const line = (r: ReadonlyArray<string>) => r.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join("  ").trimEnd()
    out.push(line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line))
  }
  return out
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
