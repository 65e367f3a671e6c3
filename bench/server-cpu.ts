/**
 * Postgres's own CPU, read where it is spent: the CPU time of the bench database's client
 * backends (`pg_stat_activity`), from `/proc/<pid>/schedstat` (nanoseconds) or, where that
 * file is missing, `/proc/<pid>/stat`'s utime + stime (clock ticks, usually 10 ms).
 *
 * Only when the server runs on this machine, in this PID namespace: the URL names a loopback
 * address or a Unix socket, and every pid listed is a `postgres` process here serving the
 * bench's database. Otherwise (a remote server, a container, PGlite in the bench's own
 * process) the figure is unavailable, and the report says "n/a" rather than guess.
 * `pg_stat_statements` would need `shared_preload_libraries`, i.e. a server restart.
 *
 * Backends that start during a sample count in full (their start-up is the contender's
 * cost); the postmaster, WAL writer, checkpointer and autovacuum are not client backends and
 * are left out.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import pg from "pg"
import { type BenchDatabase, serverUrl } from "./database.ts"

export interface ServerCpuSource {
  /** `undefined` when measured; else why not. */
  readonly unavailable: string | undefined
  /** `schedstat` (ns) or `stat` (clock ticks). */
  readonly source: "schedstat" | "stat" | undefined
  /** The smallest step one backend's reading moves by, in milliseconds. */
  readonly resolutionMs: number | undefined
}

export interface ServerCpu extends ServerCpuSource {
  /** Runs `f` and returns its result with the backends' CPU milliseconds spent meanwhile (`null`: unavailable). */
  around<A>(f: () => Promise<A>): Promise<readonly [A, number | null]>
  close(): Promise<void>
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])

const clockTick = (): number => {
  try {
    const hz = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return hz > 0 ? 1000 / hz : 10
  } catch {
    return 10
  }
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return undefined
  }
}

class NotOurs extends Error {}

const unavailable = (why: string): ServerCpu => ({
  unavailable: why,
  source: undefined,
  resolutionMs: undefined,
  around: async (f) => [await f(), null],
  close: async () => undefined
})

/** The probe for this database; one admin connection (to the server's default database, so not counted). */
export const serverCpu = async (db: BenchDatabase): Promise<ServerCpu> => {
  if (db.backend !== "postgres") return unavailable("PGlite runs in the bench's process: its CPU is in the CPU µs column")
  const url = new URL(db.url)
  const socket = url.searchParams.get("host")?.startsWith("/") ?? false
  if (!socket && !LOOPBACK.has(url.hostname)) return unavailable(`the server (${url.hostname}) is not on this machine`)
  if (read("/proc/self/stat") === undefined) return unavailable("/proc is not readable")
  const name = url.pathname.slice(1)
  const tick = clockTick()
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  let why: string | undefined

  /** One backend's CPU milliseconds; `undefined` when it has exited. Throws when the pid is not a backend of ours. */
  const cpuOf = (pid: number): { ms: number; source: "schedstat" | "stat" } | undefined => {
    const stat = read(`/proc/${pid}/stat`)
    if (stat === undefined) return undefined
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"))
    const cmdline = (read(`/proc/${pid}/cmdline`) ?? "").replace(/\0/g, " ")
    if (comm !== "postgres" || (cmdline.startsWith("postgres:") && !cmdline.includes(` ${name} `))) {
      throw new NotOurs(`pid ${pid} of pg_stat_activity is not this database's backend here (another PID namespace?)`)
    }
    const sched = read(`/proc/${pid}/schedstat`)
    if (sched !== undefined) return { ms: Number(sched.split(" ")[0]) / 1e6, source: "schedstat" }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return { ms: (Number(fields[11]) + Number(fields[12])) * tick, source: "stat" } // utime, stime: fields 14, 15
  }

  const snapshot = async (): Promise<Map<number, number> | undefined> => {
    const { rows } = await admin.query<{ pid: number }>(
      "select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend'", [name])
    const out = new Map<number, number>()
    try {
      for (const { pid } of rows) {
        const cpu = cpuOf(pid)
        if (cpu === undefined) continue
        out.set(pid, cpu.ms)
        probe.source ??= cpu.source
      }
    } catch (error) {
      if (!(error instanceof NotOurs)) throw error
      why = error.message
      return undefined
    }
    return out
  }

  const probe = {
    get unavailable() {
      return why
    },
    source: undefined as "schedstat" | "stat" | undefined,
    get resolutionMs() {
      return this.source === "schedstat" ? 1e-6 : this.source === "stat" ? tick : undefined
    },
    async around<A>(f: () => Promise<A>): Promise<readonly [A, number | null]> {
      const before = why === undefined ? await snapshot() : undefined
      const result = await f()
      const after = before === undefined ? undefined : await snapshot()
      if (before === undefined || after === undefined) return [result, null]
      let ms = 0
      for (const [pid, now] of after) {
        const then = before.get(pid) ?? 0
        ms += now >= then ? now - then : now // a lower reading: the pid was reused by a new backend
      }
      return [result, ms]
    },
    close: () => admin.end()
  }
  return probe
}
