/**
 * How much the bench does: `full` (the figures in docs/performance.md), `quick` (under a
 * minute), `smoke` (seconds, for the test suite: counts are exact, timings meaningless).
 * `scale` (off unless asked for) adds a pass over a big fixture after the small one.
 */
import type { BackendName } from "./database.ts"
import type { HttpOptions } from "./http.ts"

export type Mode = "full" | "quick" | "smoke"

/** The big fixture of the scale pass: rows made in Postgres, a few thousand of them presented. */
export interface ScaleOptions {
  readonly users: number
  /** Rows of fusion-auth tokens, of Better Auth sessions and of API keys. */
  readonly tokens: number
  readonly sessions: number
  readonly apiKeys: number
  /** Credentials of each kind the contenders present, spread over the owners. */
  readonly presented: number
  /** Where it runs (PGlite is skipped by `--scale`: the database would share the bench's process). */
  readonly backends: ReadonlyArray<BackendName>
  /** Contender ids to run there; `undefined`: all of them. */
  readonly contenders?: ReadonlyArray<string> | undefined
}

/** `--scale`: 10⁶ tokens, 10⁶ sessions (and 10⁶ API keys for the plugin), 10⁵ users. */
export const SCALE: ScaleOptions = {
  users: 100_000,
  tokens: 1_000_000,
  sessions: 1_000_000,
  apiKeys: 1_000_000,
  presented: 4096,
  backends: ["postgres"]
}

/** The same code path at a size the test suite can afford: the contenders its ratios need. */
export const SMOKE_SCALE: ScaleOptions = {
  users: 20,
  tokens: 200,
  sessions: 200,
  apiKeys: 200,
  presented: 8,
  backends: [],
  contenders: ["fusion.token", "apikey.nolimit", "fusion.cookie.on", "plain.cookie.on", "floor.select", "floor.session"]
}

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
  /** Resolutions counted on the wire per contender (after a short warm-up), one at a time. */
  readonly countOps: number
  /** Then counted again with this many in flight at once, over `countConcurrentOps` resolutions. */
  readonly countConcurrency: number
  readonly countConcurrentOps: number
  /** Resolutions per contender in the memory run (a child process each), and which contenders; none when empty. */
  readonly memoryOps: number
  readonly memoryContenders: "all" | ReadonlyArray<string>
  readonly memoryBackends: ReadonlyArray<BackendName>
  /** The HTTP-level comparison (the example's production build over loopback); `null`: not run. */
  readonly http: HttpOptions | null
  /** The scale pass; `null`: not run. */
  readonly scale: ScaleOptions | null
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
    countConcurrency: 32,
    countConcurrentOps: 32 * 40,
    memoryOps: 100_000,
    memoryContenders: "all",
    memoryBackends: ["postgres"],
    http: { rounds: 5, seconds: 3, warmupSeconds: 2, concurrencies: [1, 32] },
    scale: null
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
    countConcurrency: 32,
    countConcurrentOps: 32 * 10,
    memoryOps: 3_000,
    memoryContenders: ["fusion.token", "fusion.unknown", "fusion.cookie.off"],
    memoryBackends: ["postgres"],
    http: { rounds: 1, seconds: 1, warmupSeconds: 1, concurrencies: [1, 32] },
    scale: null
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
    countConcurrency: 32,
    countConcurrentOps: 32,
    memoryOps: 0,
    memoryContenders: [],
    memoryBackends: [],
    http: null,
    scale: null
  }
}
