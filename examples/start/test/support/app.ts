/**
 * Runs the example app for a test: built and served on Node (`serve.ts`) or on the Vite dev
 * server (`npm start`), on a free loopback port, with a fresh data folder and the embedded
 * database (DATABASE_URL is cleared), and stops it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { freePort } from "../../../../test/support/net.ts"

export const repoRoot = join(import.meta.dirname, "..", "..", "..", "..")
const example = join(repoRoot, "examples", "start")
const vite = join(repoRoot, "node_modules", "vite", "bin", "vite.js")

export interface RunningApp {
  readonly url: string
  /** Everything the app printed so far (for failure messages). */
  output(): string
  stop(): Promise<void>
}

const environment = (port: number, dataDir: string, fixedBaseURL: boolean): NodeJS.ProcessEnv => {
  const { DATABASE_URL: _url, BETTER_AUTH_SECRET: _secret, BETTER_AUTH_URL: _base, ...rest } = process.env
  return {
    ...rest,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    FUSION_AUTH_DATA_DIR: join(dataDir, "pglite"),
    DATABASE_URL: "",
    ...(fixedBaseURL ? { BETTER_AUTH_URL: `http://127.0.0.1:${port}` } : {})
  }
}

/** `vite build` of the example into examples/start/dist. */
export const build = async (): Promise<void> => {
  // NODE_ENV is "test" under vitest; a production build needs "production" (React's JSX runtime).
  await promisify(execFile)(process.execPath, [vite, "build", "--config", join(example, "vite.config.ts")], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: "production" },
    maxBuffer: 16 * 1024 * 1024
  })
}

export interface Options {
  /** Keep the data here (and leave it on stop); default a fresh folder, removed on stop. */
  readonly dataDir?: string | undefined
  /** More environment for the app (e.g. `GITHUB_SECRET_SCANNING_KEYS`). */
  readonly env?: Readonly<Record<string, string>> | undefined
  /**
   * Its own address as `BETTER_AUTH_URL`, as a deployment sets it (then fusion-auth reads
   * Better Auth's cookie natively); default unset, as `npm start` runs it (any local port: every
   * cookie is handed to Better Auth).
   */
  readonly fixedBaseURL?: boolean | undefined
}

const run = async (mode: "production" | "dev", options: Options = {}): Promise<RunningApp> => {
  const port = await freePort()
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "fusion-auth-example-"))
  const args = mode === "production"
    ? [join(example, "serve.ts")]
    : [vite, "dev", "--config", join(example, "vite.config.ts")]
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...environment(port, dataDir, options.fixedBaseURL === true), NODE_ENV: mode === "production" ? "production" : "development", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /ready: open (http:\/\/\S+?)\/signup/.exec(output)
      if (match) resolve(match[1]!)
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then((code) => reject(new Error(`the example app exited (${code}) before it was ready:\n${output}`)))
    setTimeout(() => reject(new Error(`the example app was not ready after 90 s:\n${output}`)), 90_000).unref()
  })

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
      await exited
      clearTimeout(timer)
    }
    if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
  }

  try {
    return { url: await ready, output: () => output, stop }
  } catch (error) {
    await stop()
    throw error
  }
}

/** The production build, served on Node (what `npm run start:example` runs). */
export const startProduction = (options?: Options) => run("production", options)

/** The Vite dev server (what `npm start` runs). */
export const startDev = (options?: Options) => run("dev", options)
