/**
 * A newcomer's app, made from the docs alone: the files of docs/getting-started.md and of
 * README's "Use it", each taken by its first line (`// src/lib/auth.ts`) or, for JSON, by the
 * line before it (`… \`tsconfig.json\`:`); the packages the docs' `npm install` lines name; and
 * the app run with `vite dev` on the project's own Node, as a subprocess.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { connect } from "node:net"
import { dirname, join } from "node:path"
import { promisify } from "node:util"

export const repoRoot = join(import.meta.dirname, "..", "..")

export interface DocFile {
  readonly path: string
  readonly text: string
  /** Where it was found, for failure messages. */
  readonly page: string
}

/** The part of a page under a `## heading`, up to the next `## `. */
export const section = (markdown: string, heading: string): string => {
  const start = markdown.indexOf(`\n## ${heading}\n`)
  if (start === -1) throw new Error(`no "## ${heading}" section`)
  const end = markdown.indexOf("\n## ", start + 1)
  return markdown.slice(start, end === -1 ? undefined : end)
}

/**
 * Every file a page shows: a ```ts/```tsx block whose first line is `// <path>`, and a ```json
 * block right after a line that ends with `` `<name>.json`: ``.
 */
export const docFiles = (markdown: string, page: string): ReadonlyArray<DocFile> => {
  const files: Array<DocFile> = []
  for (const [, body] of markdown.matchAll(/```tsx?\n([\s\S]*?)```/g)) {
    const header = /^\/\/ ([\w./$[\]-]+\.tsx?)\n/.exec(body!)
    if (header) files.push({ path: header[1]!, text: body!, page })
  }
  for (const [, name, body] of markdown.matchAll(/`([\w./-]+\.json)`:\n\n```json\n([\s\S]*?)```/g)) {
    files.push({ path: name!, text: body!, page })
  }
  return files
}

/** The packages of the page's `npm install` lines (in ```sh blocks): `-D` ones are dev dependencies. */
export const installLine = (markdown: string): { readonly dependencies: ReadonlyArray<string>; readonly devDependencies: ReadonlyArray<string> } => {
  const dependencies: Array<string> = []
  const devDependencies: Array<string> = []
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const [, args] of block!.matchAll(/^npm install ([^#\n]+)$/gm)) {
      const words = args!.trim().split(/\s+/)
      const dev = words.some((w) => w === "-D" || w === "--save-dev")
      ;(dev ? devDependencies : dependencies).push(...words.filter((w) => !w.startsWith("-")))
    }
  }
  return { dependencies, devDependencies }
}

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end (bounded), never throwing for a non-zero exit. */
export const run = (file: string, args: ReadonlyArray<string>, options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }) =>
  new Promise<Run>((resolve) => {
    execFile(file, args, { ...options, maxBuffer: 64 * 1024 * 1024, killSignal: "SIGKILL" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout, stderr: error !== null && error.killed ? `${stderr}\n(killed after ${options.timeout} ms)` : stderr })
    })
  })

/** Writes the files into the project folder. */
export const writeFiles = (dir: string, files: ReadonlyArray<DocFile>): void => {
  for (const file of files) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true })
    writeFileSync(join(dir, file.path), file.text)
  }
}

/** The environment of a process run in the project: its own Node first on PATH, nothing of this test run's. */
export const projectEnv = (dir: string, extra: Record<string, string>): NodeJS.ProcessEnv => {
  const inherited = Object.entries(process.env).filter(([name]) =>
    !/^(DATABASE_URL|FUSION_AUTH_\w+|BETTER_AUTH_\w+|NODE_ENV|NODE_OPTIONS|VITEST\w*|VITE_\w+|TEST)$/.test(name)
  )
  return { ...Object.fromEntries(inherited), PATH: `${join(dir, "node_modules", ".bin")}:${process.env.PATH ?? ""}`, ...extra }
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface App {
  readonly url: string
  /** The pid of the process that runs Vite (and opens the database). */
  readonly pid: number
  /** Everything it printed so far. */
  output(): string
  /** True once the process has exited. */
  exited(): boolean
  /** SIGTERM, then SIGKILL after 15 s; resolves once it has exited. */
  stop(): Promise<void>
}

/**
 * The flag that lets a second `vite dev` start in a project where one runs: Vite 8.4 and later
 * refuse it themselves ("Found another Vite dev process for this project"), before the app's
 * code, and so fusion-auth's own refusal, is ever reached. Earlier Vites have no such check.
 */
export const viteBypassLock = (dir: string): ReadonlyArray<string> =>
  readFileSync(join(dir, "node_modules", "vite", "dist", "node", "cli.js"), "utf8").includes('"--bypass-lock"') ? ["--bypass-lock"] : []

/**
 * `vite dev` in the project (or `vite preview`: its production build), on its own Node, on
 * 127.0.0.1:port; resolves once the port listens.
 */
export const startApp = async (
  dir: string,
  port: number,
  env: NodeJS.ProcessEnv,
  flags: ReadonlyArray<string> = [],
  command: "dev" | "preview" = "dev"
): Promise<App> => {
  const child: ChildProcess = spawn(
    join(dir, "node_modules", ".bin", "node"),
    [join(dir, "node_modules", "vite", "bin", "vite.js"), command, "--port", String(port), "--host", "127.0.0.1", "--strictPort", ...flags],
    { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] }
  )
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  let done = false
  const exit = new Promise<void>((resolve) => child.once("exit", () => {
    done = true
    resolve()
  }))
  const stop = async () => {
    if (done) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000)
    await exit
    clearTimeout(timer)
  }
  const app: App = { url: `http://127.0.0.1:${port}`, pid: child.pid!, output: () => output, exited: () => done, stop }
  const deadline = Date.now() + 120_000
  while (!(await listening(port))) {
    if (done || Date.now() > deadline) {
      await stop()
      throw new Error(`vite ${command} ${done ? "exited" : "did not listen within 120 s"} on port ${port}:\n${output}`)
    }
    await sleep(200)
  }
  return app
}

/** Waits (bounded) until `test` holds. */
export const eventually = async (test: () => boolean, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms
  while (!test()) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}
