/**
 * The HTTP-level comparison: `GET /api/me` on the example app's production build, over
 * loopback with autocannon, with a browser cookie and with an API token, next to Better
 * Auth's own `GET /api/auth/get-session` on the same server (cookie) and the API-key plugin
 * (`x-api-key`; Better Auth alone, on its own Node handler: `http-apikey-server.ts`).
 *
 * The example runs as deployed: a fixed `BETTER_AUTH_URL` (so the native cookie path is
 * used), Better Auth's own rate limit off (it would answer 429 after 100 requests), on the
 * backend's database: a fresh Postgres database, or the embedded PGlite the example owns.
 * Every contender is checked once before timing; a non-2xx answer during a sample aborts.
 */
import autocannon from "autocannon"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { fileURLToPath } from "node:url"
import { Redacted } from "effect"
import pg from "pg"
import { createAuthSession, migrate } from "../src/index.ts"
import { leaseEmbedded } from "../src/sql/Database.ts"
import { freePort } from "../test/support/net.ts"
import { cookieAuth, keyAuth, schemaAuth } from "./auth.ts"
import { type BackendName, makePostgres } from "./database.ts"
import { median } from "./measure.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const example = join(root, "examples", "start")

export interface HttpOptions {
  readonly rounds: number
  /** Seconds per sample, and of the warm-up of each contender. */
  readonly seconds: number
  readonly warmupSeconds: number
  readonly concurrencies: ReadonlyArray<number>
}

export interface HttpContender {
  readonly id: string
  readonly label: string
}

export const httpContenders: ReadonlyArray<HttpContender> = [
  { id: "http.fusion.cookie", label: "/api/me (fusion-auth), cookie" },
  { id: "http.plain.cookie", label: "/api/auth/get-session (Better Auth), cookie" },
  { id: "http.fusion.token", label: "/api/me (fusion-auth), Bearer token" },
  { id: "http.apikey", label: "/api/auth/get-session (api-key plugin), x-api-key" }
]

/** What each HTTP contender is compared with. */
export const httpReference: Record<string, string> = {
  "http.fusion.cookie": "http.plain.cookie",
  "http.fusion.token": "http.apikey"
}

export interface HttpSample {
  readonly round: number
  readonly contender: string
  readonly connections: number
  readonly requestsPerSecond: number
  /** Milliseconds. */
  readonly p50: number
  readonly p99: number
}

export interface HttpResult {
  readonly backend: BackendName
  readonly samples: ReadonlyArray<HttpSample>
}

/** `vite build` of the example (the bench measures the code as it is now). */
export const buildExample = async (): Promise<void> => {
  await promisify(execFile)(process.execPath, [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--config", join(example, "vite.config.ts")], {
    cwd: root,
    env: { ...process.env, NODE_ENV: "production" },
    maxBuffer: 16 * 1024 * 1024
  })
}

interface Child {
  readonly output: () => string
  stop(): Promise<void>
}

/** Spawns a Node script and waits for a line matching `ready`. */
const start = async (script: string, env: NodeJS.ProcessEnv, ready: RegExp): Promise<Child> => {
  const child: ChildProcess = spawn(process.execPath, [script], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    await exited
    clearTimeout(timer)
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (ready.test(output)) resolve()
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      void exited.then(() => reject(new Error(`${script} exited before it was ready:\n${output}`)))
      setTimeout(() => reject(new Error(`${script} was not ready after 90 s:\n${output}`)), 90_000).unref()
    })
  } catch (error) {
    await stop()
    throw error
  }
  return { output: () => output, stop }
}

/**
 * The example's production build (`serve.ts`), as deployed: production mode, Better Auth's
 * rate limit off, its own state in a new folder; `env` gives the port, URL, secret and database.
 */
export const startExample = (env: NodeJS.ProcessEnv): Promise<Child> => {
  const dir = mkdtempSync(join(tmpdir(), "fusion-example-"))
  return start(join(example, "serve.ts"), {
    ...process.env,
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    AUTH_RATE_LIMIT: "off",
    DATA_DIR: join(dir, "app"),
    FUSION_AUTH_DATA_DIR: join(dir, "pglite"),
    ...env
  }, /ready: open http/).then((child) => ({ ...child, stop: () => child.stop().finally(() => rmSync(dir, { recursive: true, force: true })) }))
}

class WrongAnswer extends Error {
  override readonly name = "WrongAnswer"
}

interface Target {
  readonly url: string
  readonly headers: Record<string, string>
  /** The user id in a 200 answer's body. */
  readonly userOf: (body: unknown) => unknown
}

/** Runs the comparison on one backend: servers up, fixture, checks, interleaved rounds, servers down. */
export const runHttp = async (backend: BackendName, options: HttpOptions, log: (line: string) => void): Promise<HttpResult> => {
  const dir = mkdtempSync(join(tmpdir(), "fusion-bench-http-"))
  const postgres = backend === "postgres" ? await makePostgres() : undefined
  const children: Array<Child> = []
  const closers: Array<() => Promise<unknown>> = []
  try {
    const port = await freePort()
    const origin = `http://127.0.0.1:${port}`
    const app = await startExample({
      PORT: String(port),
      BETTER_AUTH_URL: origin,
      BETTER_AUTH_SECRET: randomBytes(32).toString("base64url"),
      FUSION_AUTH_DATA_DIR: join(dir, "pglite"),
      DATABASE_URL: postgres?.url ?? ""
    })
    children.push(app)
    // Everyone else reaches the example's database as the CLI would: the server URL, or the owner's loopback server.
    const lease = postgres ? undefined : await leaseEmbedded({ dataDir: join(dir, "pglite"), connectToOwner: true })
    const url = postgres?.url ?? lease!.url
    const pool = new pg.Pool({ connectionString: url, max: 4 })
    pool.on("error", () => undefined)
    closers.push(() => pool.end())
    await migrate(schemaAuth(pool), { url }) // the api-key plugin's table

    const signUp = await fetch(`${origin}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin },
      body: JSON.stringify({ email: `http.${Date.now()}@example.com`, password: "correct horse battery", name: "HTTP" })
    })
    if (signUp.status !== 200) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}\n${app.output()}`)
    const userId = ((await signUp.json()) as { user: { id: string } }).user.id
    const cookie = signUp.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
    const library = createAuthSession(cookieAuth(pool, false), { database: { url } })
    closers.push(() => library.dispose())
    const { token } = await library.tokens.create({ userId, name: "bench" })
    const { key } = await keyAuth(pool, false).api.createApiKey({ body: { userId } })

    const apiPort = await freePort()
    children.push(await start(join(root, "bench", "http-apikey-server.ts"), { ...process.env, DATABASE_URL: url, PORT: String(apiPort) }, /listening \d+/))

    const me = (body: unknown) => (body as { id?: unknown }).id
    const getSession = (body: unknown) => (body as { user?: { id?: unknown } } | null)?.user?.id
    const targets: Record<string, Target> = {
      "http.fusion.cookie": { url: `${origin}/api/me`, headers: { cookie }, userOf: me },
      "http.plain.cookie": { url: `${origin}/api/auth/get-session`, headers: { cookie }, userOf: getSession },
      "http.fusion.token": { url: `${origin}/api/me`, headers: { authorization: `Bearer ${Redacted.value(token)}` }, userOf: me },
      "http.apikey": { url: `http://127.0.0.1:${apiPort}/api/auth/get-session`, headers: { "x-api-key": key }, userOf: getSession }
    }
    for (const [id, target] of Object.entries(targets)) {
      const response = await fetch(target.url, { headers: target.headers })
      const body = response.status === 200 ? await response.json() : undefined
      if (target.userOf(body) !== userId) throw new WrongAnswer(`${id}: ${response.status}, not the signed-up user`)
    }

    const sample = async (id: string, connections: number, seconds: number) => {
      const target = targets[id]!
      // autocannon's own histogram keeps whole milliseconds: each response's time is kept here instead.
      const latencies: Array<number> = []
      const result = await new Promise<autocannon.Result>((resolve, reject) => {
        const run = autocannon({ url: target.url, connections, duration: seconds, headers: target.headers }, (error, done) =>
          error ? reject(error) : resolve(done))
        run.on("response", (_client, _status, _bytes, milliseconds) => void latencies.push(milliseconds))
      })
      if (result.errors + result.timeouts + result.non2xx > 0 || result["2xx"] === 0) {
        throw new WrongAnswer(`${id}: ${result.errors} errors, ${result.timeouts} timeouts, non-2xx ${JSON.stringify(result.statusCodeStats)}`)
      }
      latencies.sort((a, b) => a - b)
      const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)]!
      return { requestsPerSecond: result["2xx"] / result.duration, p50: at(0.5), p99: at(0.99) }
    }
    log(`${backend}: HTTP warm-up`)
    for (const c of httpContenders) await sample(c.id, Math.max(...options.concurrencies), options.warmupSeconds)
    const samples: Array<HttpSample> = []
    for (let round = 0; round < options.rounds; round++) {
      log(`${backend}: HTTP round ${round + 1} of ${options.rounds}`)
      const order = round % 2 === 0 ? httpContenders : [...httpContenders].reverse()
      for (const connections of options.concurrencies) {
        for (const c of order) samples.push({ round, contender: c.id, connections, ...(await sample(c.id, connections, options.seconds)) })
      }
    }
    return { backend, samples }
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined)
    for (const child of children.reverse()) await child.stop()
    await postgres?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Median requests per second, p50 and p99 of one contender at one concurrency. */
export const summarizeHttp = (result: HttpResult, id: string, connections: number) => {
  const mine = result.samples.filter((s) => s.contender === id && s.connections === connections)
  return {
    requestsPerSecond: median(mine.map((s) => s.requestsPerSecond)),
    p50: median(mine.map((s) => s.p50)),
    p99: median(mine.map((s) => s.p99))
  }
}

/** Requests per second of `a` over `b`: the median of the per-round ratios. */
export const httpRatio = (result: HttpResult, a: string, b: string, connections: number): number => {
  const of = (id: string) => result.samples.filter((s) => s.contender === id && s.connections === connections)
  const bs = new Map(of(b).map((s) => [s.round, s.requestsPerSecond]))
  return median(of(a).flatMap((s) => (bs.has(s.round) ? [s.requestsPerSecond / bs.get(s.round)!] : [])))
}
