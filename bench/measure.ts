/**
 * Timing: a closed loop of `concurrency` callers, each starting its next resolution when the
 * last one settles, until a time budget or an operation cap runs out (whichever is first).
 * Latency is per resolution, from call to settlement, so at concurrency 32 it includes the
 * wait for a pooled connection. CPU is this process's (all its threads), per resolution: on
 * a shared machine it moves far less than throughput does, and it leaves out Postgres's own.
 */
import type { Op } from "./contenders.ts"

export interface Sample {
  readonly ops: number
  readonly seconds: number
  readonly opsPerSecond: number
  /** Milliseconds. */
  readonly p50: number
  readonly p99: number
  /** Microseconds of this process's CPU per resolution. */
  readonly cpuPerOp: number
}

export interface Budget {
  readonly concurrency: number
  readonly milliseconds: number
  readonly maxOps: number
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

/** `offset` moves the inputs along, so consecutive samples do not replay the same credentials. */
export const measure = async (op: Op, budget: Budget, offset = 0): Promise<Sample> => {
  const latencies = new Float64Array(budget.maxOps)
  let started = 0
  const cpu = process.cpuUsage()
  const start = performance.now()
  const deadline = start + budget.milliseconds
  const caller = async () => {
    while (started < budget.maxOps && performance.now() < deadline) {
      const n = started++
      const t0 = performance.now()
      await op(offset + n)
      latencies[n] = performance.now() - t0
    }
  }
  await Promise.all(Array.from({ length: budget.concurrency }, caller))
  const seconds = (performance.now() - start) / 1000
  const { user, system } = process.cpuUsage(cpu)
  const sorted = latencies.subarray(0, started).sort()
  return {
    ops: started,
    seconds,
    opsPerSecond: started / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuPerOp: (user + system) / started
  }
}

/** The q-quantile (0..1), interpolating between neighbours. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const at = (s.length - 1) * q
  const lo = Math.floor(at)
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo)
}

export const median = (xs: ReadonlyArray<number>): number => quantile(xs, 0.5)

/** Half the interquartile range, relative to the median: the "±x" of a figure. */
export const spread = (xs: ReadonlyArray<number>): number =>
  xs.length < 2 ? 0 : (quantile(xs, 0.75) - quantile(xs, 0.25)) / 2 / median(xs)
