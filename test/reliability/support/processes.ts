/**
 * Child processes for the reliability suites: app instances (`app-server.ts`), the
 * `fusion-auth` CLI, and what /proc says about a process (resident memory, its sockets to
 * Postgres).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { readdirSync, readFileSync, readlinkSync } from "node:fs"
import { join } from "node:path"
import { Redacted } from "effect"
import { createAuthSession } from "../../../src/index.ts"
import { makeAuth } from "../../support/auth.ts"
import { freePort } from "../../support/net.ts"

const repoRoot = join(import.meta.dirname, "..", "..", "..")
const serverScript = join(import.meta.dirname, "app-server.ts")
const cliScript = join(repoRoot, "src", "cli", "main.ts")

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with Postgres's clock). */
export const now = (): number => performance.timeOrigin + performance.now()

export interface AppProcess {
  readonly instance: string
  readonly url: string
  readonly pid: number
  output(): string
  /** True while the process runs (a crash shows here). */
  alive(): boolean
  stop(): Promise<void>
}

export interface AppOptions {
  readonly databaseUrl: string
  readonly instance: string
  readonly cookieCache?: boolean
  readonly migrate?: boolean
  /** Extra environment for the process. */
  readonly env?: Record<string, string> | undefined
}

/** Starts one app instance on a free loopback port and waits until it listens. */
export const startApp = async (options: AppOptions): Promise<AppProcess> => {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, [serverScript], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: options.databaseUrl,
      PORT: String(port),
      INSTANCE: options.instance,
      COOKIE_CACHE: options.cookieCache ? "on" : "off",
      MIGRATE: options.migrate ? "1" : "0",
      ...options.env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (/^listening \d+$/m.test(output)) resolve()
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then(() => reject(new Error(`app ${options.instance} exited before listening:\n${output}`)))
    setTimeout(() => reject(new Error(`app ${options.instance} not listening after 60 s:\n${output}`)), 60_000).unref()
  })
  return {
    instance: options.instance,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Signs a user up through Better Auth's handler over HTTP; returns the id and the `Cookie` header. */
export const signUp = async (appUrl: string, email: string) => {
  const response = await fetch(`${appUrl}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: appUrl },
    body: JSON.stringify({ email, password: "correct horse battery", name: email.split("@")[0] })
  })
  if (response.status !== 200) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { user: { id: string } }
  const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
  return { userId: body.user.id, cookie }
}

/** Signs in again over HTTP (a new, independent session of the same user); returns the browser's `Cookie` header. */
export const signIn = async (appUrl: string, email: string) => {
  const response = await fetch(`${appUrl}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: appUrl },
    body: JSON.stringify({ email, password: "correct horse battery" })
  })
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status}`)
  return response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
}

/** Better Auth's session token inside a browser's `Cookie` header (the part of the signed value before the dot). */
export const sessionTokenOf = (cookie: string): string => {
  const pair = cookie.split("; ").find((c) => /^(?:__Secure-)?better-auth\.session_token=/.test(c))
  if (pair === undefined) throw new Error("no session cookie")
  const value = decodeURIComponent(pair.slice(pair.indexOf("=") + 1))
  return value.slice(0, value.lastIndexOf("."))
}

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** When the process was spawned and when it exited (`now()` clock). */
  readonly started: number
  readonly ended: number
}

/** `fusion-auth …` as an operator runs it, on `databaseUrl`. */
export const cli = (databaseUrl: string, args: ReadonlyArray<string>) =>
  new Promise<CliRun>((resolve) => {
    const started = now()
    const child = execFile(
      process.execPath,
      [cliScript, ...args],
      { cwd: repoRoot, env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr, started, ended: now() })
    )
    child.stdin?.end()
  })

/**
 * Tokens for a user, made through the library on the same database (quicker than a CLI run
 * each): their ids and plaintexts, in the order of `names`.
 */
export const createTokens = async (databaseUrl: string, userId: string, names: ReadonlyArray<string>) => {
  const { auth, pool } = makeAuth(databaseUrl)
  const admin = createAuthSession(auth, { database: { url: databaseUrl } })
  try {
    const made: Array<{ readonly id: string; readonly token: string }> = []
    for (const name of names) {
      const { token, info } = await admin.tokens.create({ userId, name })
      made.push({ id: info.id, token: Redacted.value(token) })
    }
    return made
  } finally {
    await admin.dispose()
    await pool.end()
  }
}

/** Resident memory of a process, in MB (from /proc/<pid>/status). */
export const rssMB = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return match ? Number(match[1]) / 1024 : Number.NaN
}

const TCP_STATES: Record<string, string> = {
  "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "06": "TIME_WAIT",
  "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"
}

/**
 * The TCP sockets process `pid` holds open to `port` on loopback, by state. A connection the
 * server closed but the process never let go of shows as CLOSE_WAIT: a leak.
 */
export const socketsTo = (pid: number, port: number): Record<string, number> => {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match) inodes.add(match[1]!)
    } catch {
      // closed while listing
    }
  }
  const counts: Record<string, number> = {}
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0")
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 10) continue
    const remote = fields[2]!
    const inode = fields[9]!
    if (!remote.endsWith(`:${hexPort}`) || !inodes.has(inode)) continue
    const state = TCP_STATES[fields[3]!] ?? fields[3]!
    counts[state] = (counts[state] ?? 0) + 1
  }
  return counts
}
