/**
 * From raw samples to what a reader needs: medians and spread per contender, ratios taken
 * round by round (each round runs every contender back to back, so drift cancels), the
 * issue's targets met or missed, and the one table the bench prints.
 */
import type { Counts } from "./count.ts"
import { type Contender, contenders } from "./contenders.ts"
import type { BackendName } from "./database.ts"
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
  "fusion.malformed": "floor.select1",
  "apikey.malformed": "fusion.malformed",
  "fusion.unknown": "floor.select",
  "apikey.unknown": "fusion.unknown",
  "floor.select": "floor.select1"
}

export interface Target {
  readonly backend: BackendName
  readonly target: string
  readonly measured: string
  /** `null`: not measured in this run. */
  readonly met: boolean | null
}

const x = (n: number) => (Number.isFinite(n) ? `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×` : "n/a")
const perRes = (n: number | undefined) => (n === undefined ? "n/a" : Number.isInteger(n) ? String(n) : n.toFixed(2))

export const targets = (result: BackendResult, concurrencies: ReadonlyArray<number>): ReadonlyArray<Target> => {
  const { backend, counts, memory } = result
  const out: Array<Target> = []
  const add = (target: string, measured: string, met: boolean | null) => out.push({ backend, target, measured, met })
  const token = counts["fusion.token"]
  add("token path: 1 statement, 0 writes per resolution",
    `${perRes(token?.statements)} statements, ${perRes(token?.writes)} writes` +
      (token?.deferredStatements ? ` (+${token.deferredStatements} deferred at close)` : ""),
    token ? token.statements === 1 && token.writes === 0 : null)
  const top = Math.max(...concurrencies)
  const best = ratio(result, "fusion.token", "apikey.nolimit", top)
  add(`token path ≥ 3× api-key plugin best case (c=${top})`, x(best), Number.isFinite(best) ? best >= 3 : null)
  const floor = ratio(result, "floor.select", "fusion.token", top)
  add(`token path within 1.3× of the bare SELECT floor (c=${top})`, `floor is ${x(floor)} faster`, Number.isFinite(floor) ? floor <= 1.3 : null)
  const malformed = counts["fusion.malformed"]
  add("malformed token: 0 statements", `${perRes(malformed?.statements)} statements`, malformed ? malformed.statements === 0 : null)
  for (const c of concurrencies) {
    const r = ratio(result, "fusion.malformed", "floor.select1", c)
    add(`malformed token ≥ 100× a database round trip (SELECT 1, c=${c})`, x(r), Number.isFinite(r) ? r >= 100 : null)
  }
  for (const cache of ["off", "on"] as const) {
    const fusion = counts[`fusion.cookie.${cache}`]
    const plain = counts[`plain.cookie.${cache}`]
    const allowed = cache === "on" ? 1 : 0
    add(`cookie path, cache ${cache}: ≤ plain getSession + ${allowed} statements`,
      `${perRes(fusion?.statements)} vs ${perRes(plain?.statements)}`,
      fusion && plain ? fusion.statements <= plain.statements + allowed && fusion.writes <= plain.writes : null)
    for (const c of concurrencies) {
      const r = ratio(result, `fusion.cookie.${cache}`, `plain.cookie.${cache}`, c)
      add(`cookie path, cache ${cache}: throughput within 10% of plain getSession (c=${c})`, x(r), Number.isFinite(r) ? r >= 0.9 : null)
    }
  }
  for (const id of ["fusion.token", "fusion.unknown"]) {
    const m = memory[id]
    add(`memory flat over ${m ? m.resolutions.toLocaleString("en-US") : "the"} resolutions (${id}; heap growth < 2 MB)`,
      m ? `heap ${m.heapGrowthMB >= 0 ? "+" : ""}${m.heapGrowthMB.toFixed(2)} MB, RSS ${m.finalRssMB.toFixed(0)} MB` : "not measured",
      m ? m.heapGrowthMB < 2 : null)
  }
  return out
}

const ops = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—")
const ms = (n: number) => (Number.isFinite(n) ? (n < 1 ? n.toFixed(3) : n < 10 ? n.toFixed(2) : n.toFixed(1)) : "—")
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
  out.push("", "targets")
  for (const result of results) {
    for (const t of targets(result, concurrencies)) {
      const mark = t.met === null ? "n/a   " : t.met ? "met   " : "MISSED"
      out.push(`  ${mark}  ${t.backend.padEnd(8)}  ${t.target}: ${t.measured}`)
    }
  }
  return out.join("\n")
}
