/**
 * A script that uses only what the docs name exits as soon as it is done: `dispose()` closes
 * the runtime, Better Auth's pool from `betterAuthDatabase()` and the embedded server, so
 * nothing keeps the process alive (pg's idle timeout alone would hold it for 10 s).
 */
import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LOCK_FILE } from "../src/sql/EmbeddedLock.ts"
import { PGDATA } from "../src/sql/EmbeddedUpgrade.ts"
import { createAuthSession } from "../src/index.ts"
import { authOn } from "./support/auth.ts"
import { postgres, type TestDatabase } from "./support/databases.ts"

const script = join(import.meta.dirname, "support/exit-script.ts")

/** Runs the script; answers its result and how long after its last line the process exited. */
const runScript = (cwd: string, databaseUrl: string, forgetDispose = false, runtime: "createAuthSession" | "layer" = "createAuthSession") =>
  new Promise<{ result: { cookie: boolean; token: boolean; userId: string }; lingered: number; output: string }>((resolve, reject) => {
    const { FUSION_AUTH_DATA_DIR: _, ...env } = process.env
    const child = spawn(process.execPath, [script], {
      cwd,
      env: { ...env, DATABASE_URL: databaseUrl, FORGET_DISPOSE: forgetDispose ? "1" : "0", SCRIPT_RUNTIME: runtime },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    let doneAt: number | undefined
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      if (doneAt === undefined && /^done \d+$/m.test(output)) doneAt = Date.now()
    })
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      if (code !== 0 || doneAt === undefined) return reject(new Error(`script exited ${code}:\n${output}`))
      resolve({ result: JSON.parse(output.split("\n").find((l) => l.startsWith("{"))!), lingered: Date.now() - doneAt, output })
    })
  })

const expected = { cookie: true, token: true }

/** One reader at a time: each unsets DATABASE_URL while it opens its folder. */
let reading: Promise<unknown> = Promise.resolve()

/** The token the script minted, as its owner's list shows it, read afterwards from its folder (`url` empty) or its server. */
const scriptToken = (cwd: string, url: string, userId: string) => {
  if (url !== "") return readToken({ url }, userId)
  const read = reading.then(() => readToken({ dataDir: join(cwd, ".data", "fusion-auth") }, userId))
  reading = read.catch(() => undefined)
  return read
}

const readToken = async (database: { readonly url: string } | { readonly dataDir: string }, userId: string) => {
  // A folder, not the server a CI run names (`DATABASE_URL` wins over `dataDir`).
  const saved = process.env.DATABASE_URL
  if ("dataDir" in database) delete process.env.DATABASE_URL
  const app = createAuthSession(authOn(database), { database })
  try {
    const [token, ...others] = await app.tokens.list(userId)
    assert.strictEqual(others.length, 0)
    return token!
  } finally {
    await app.dispose()
    if (saved !== undefined) process.env.DATABASE_URL = saved
  }
}

/** The embedded default (no DATABASE_URL, the script's own working directory), and Postgres when DATABASE_URL is set. */
const backends: ReadonlyArray<{ readonly name: string; readonly open: () => Promise<{ readonly url: string; close(): Promise<void> }> }> = [
  { name: "the embedded default", open: async () => ({ url: "", close: async () => undefined }) },
  ...(process.env.DATABASE_URL ? [{ name: "Postgres", open: (): Promise<TestDatabase> => postgres.make() }] : [])
]

describe("a plain Node script that ends with dispose()", () => {
  it.each(backends)("exits within 1 s of its last line on $name", async ({ open }) => {
    const db = await open()
    const cwd = mkdtempSync(join(tmpdir(), "fusion-auth-script-"))
    try {
      const { result, lingered } = await runScript(cwd, db.url)
      assert.deepInclude(result, expected)
      assert.isBelow(lingered, 1000)
      if (db.url === "") {
        assert.isTrue(existsSync(join(cwd, ".data", "fusion-auth", PGDATA, "PG_VERSION"))) // the default folder, kept
        assert.isFalse(existsSync(join(cwd, ".data", "fusion-auth", LOCK_FILE))) // and let go
      } else {
        assert.isFalse(existsSync(join(cwd, ".data"))) // no embedded database was opened
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true })
      await db.close()
    }
  })

  // A host that stops its server and waits for the process to end (Nitro's Node server on
  // SIGTERM), or a script that forgets dispose(): what fusion-auth runs in the background
  // (the folder's heartbeat and server, the lastUsedAt writer, the pools' idle connections and
  // reapers) does not hold the process, and the runtime is disposed on the way out.
  // All at once: each waits out its idle timers.
  const forgetting = backends.flatMap((backend) => (["createAuthSession", "layer"] as const).map((runtime) => ({ ...backend, runtime })))
  it.concurrent.each(forgetting)("without dispose(), still exits on $name, closing it cleanly and writing what was pending (the token resolved on $runtime's runtime)", async ({ open, runtime }) => {
    const db = await open()
    const cwd = mkdtempSync(join(tmpdir(), "fusion-auth-script-"))
    try {
      // On a server, with idle connections closed after 2 s (the default is a minute, so a quiet
      // app pays no new connections; the URL form an operator would set), both pools' at once.
      const url = db.url === "" ? undefined : new URL(db.url)
      url?.searchParams.set("idle_timeout", "2")
      const { result, lingered, output } = await runScript(cwd, url?.toString() ?? "", true, runtime)
      assert.deepInclude(result, expected)
      // Not at once: idle connections hold it until their pool closes them (one idle timeout, or
      // up to two: the reaper's period is the timeout; Better Auth's pg pool on the embedded
      // database after 10 s, with PGlite's own statistics flush as long); then the last notes are
      // written and the pool closed, with nothing more to wait for.
      assert.isBelow(lingered, 15_000, output)
      // Let go by the database's clean close, before the process's exit handlers ran.
      if (db.url === "") assert.include(output, "lock at exit: false")
      // The token's use, pending in memory when the script's last line ran, was written on the way out.
      assert.isNotNull((await scriptToken(cwd, db.url, result.userId)).lastUsedAt)
    } finally {
      rmSync(cwd, { recursive: true, force: true })
      await db.close()
    }
  }, 60_000)

  it("runs at the process's end each closer still registered, one registered during that run too, in their phases; none unregistered", async () => {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(import.meta.dirname, "support/exit-closers.ts")], { stdio: ["ignore", "pipe", "inherit"] })
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()))
      child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`exited ${code}: ${out}`))))
    })
    assert.deepStrictEqual(output.trim().split("\n"), ["work", "storage", "late work"])
  })
})
