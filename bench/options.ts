/**
 * How much the bench does: `full` (the figures in docs/performance.md), `quick` (under a
 * minute), `smoke` (seconds, for the test suite: counts are exact, timings meaningless).
 */
import type { BackendName } from "./database.ts"
import type { HttpOptions } from "./http.ts"

export type Mode = "full" | "quick" | "smoke"

export interface BenchOptions {
  readonly mode: Mode
  readonly backends: ReadonlyArray<BackendName>
  /** Browser sessions and token/API-key owners in the fixture. */
  readonly sessions: number
  readonly tokens: number
  /** Per contender, before the first round: milliseconds at concurrency 32, then at 1. */
  readonly warmupMs: number
  /**
   * Interleaved rounds per backend, and the time budget of one sample (one contender, one
   * concurrency). Many short rounds: a burst of load from elsewhere spoils a few rounds, not a ratio.
   */
  readonly rounds: number
  readonly sampleMs: number
  readonly maxOpsPerSample: number
  readonly concurrencies: ReadonlyArray<number>
  /** Resolutions counted on the wire per contender (after a short warm-up). */
  readonly countOps: number
  /** Resolutions per contender in the memory run (a child process each), and which contenders; none when empty. */
  readonly memoryOps: number
  readonly memoryContenders: "all" | ReadonlyArray<string>
  readonly memoryBackends: ReadonlyArray<BackendName>
  /** The HTTP-level comparison (the example's production build over loopback); `null`: not run. */
  readonly http: HttpOptions | null
  /** Where the JSON goes; `undefined`: `bench/results/`. */
  readonly resultsDir?: string | undefined
}

const both: ReadonlyArray<BackendName> = ["postgres", "pglite"]

export const presets: Record<Mode, BenchOptions> = {
  full: {
    mode: "full",
    backends: both,
    sessions: 16,
    tokens: 2000,
    warmupMs: 1500,
    rounds: 15,
    sampleMs: 800,
    maxOpsPerSample: 1_000_000,
    concurrencies: [1, 32],
    countOps: 200,
    memoryOps: 100_000,
    memoryContenders: "all",
    memoryBackends: ["postgres"],
    http: { rounds: 5, seconds: 3, warmupSeconds: 2, concurrencies: [1, 32] }
  },
  quick: {
    mode: "quick",
    backends: both,
    sessions: 2,
    tokens: 32,
    warmupMs: 100,
    rounds: 3,
    sampleMs: 80,
    maxOpsPerSample: 200_000,
    concurrencies: [1, 32],
    countOps: 10,
    memoryOps: 3_000,
    memoryContenders: ["fusion.token", "fusion.unknown", "fusion.cookie.off"],
    memoryBackends: ["postgres"],
    http: { rounds: 1, seconds: 1, warmupSeconds: 1, concurrencies: [1, 32] }
  },
  smoke: {
    mode: "smoke",
    backends: ["pglite"],
    sessions: 1,
    tokens: 4,
    warmupMs: 10,
    rounds: 1,
    sampleMs: 15,
    maxOpsPerSample: 10_000,
    concurrencies: [1, 32],
    countOps: 3,
    memoryOps: 0,
    memoryContenders: [],
    memoryBackends: [],
    http: null
  }
}
