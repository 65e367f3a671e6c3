/**
 * The embedded default: a durable folder with one owner process. A live owner's folder is
 * refused by a second app (one line naming the owner's pid) and reached through the owner's
 * loopback server by the CLI, whose writes the running app sees on its very next request and
 * which outlive the app; a dead owner's lock is taken over, by exactly one of many racers.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterEach } from "vitest"
import * as Database from "../src/sql/Database.ts"
import * as EmbeddedLock from "../src/sql/EmbeddedLock.ts"
import { fusionAuth } from "./support/cli.ts"

const ownerScript = join(import.meta.dirname, "support/embedded-owner.ts")
const env = () => {
  const { DATABASE_URL: _, FUSION_AUTH_DATA_DIR: __, ...rest } = process.env
  return rest
}

interface Child {
  readonly process: ChildProcess
  output(): string
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>
}

const run = (args: ReadonlyArray<string>): Child => {
  const child = spawn(process.execPath, args, { env: env(), stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return { process: child, output: () => output, exited }
}

interface Owner {
  readonly pid: number
  readonly url: string
  whoami(authorization?: string): Promise<{ status: number; body: Record<string, unknown> }>
  whoamiCookie(): Promise<{ status: number; body: Record<string, unknown> }>
  stop(): Promise<void>
}

const children: Array<Child> = []
const dirs: Array<string> = []
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL")
    await child.exited
  }
  await Database.closeEmbedded()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "fusion-auth-embedded-"))
  dirs.push(dir)
  return join(dir, "data")
}

const startOwner = async (dataDir: string): Promise<Owner> => {
  const child = run([ownerScript, dataDir])
  children.push(child)
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`owner not ready after 60 s:\n${child.output()}`)), 60_000)
    child.process.stdout!.on("data", () => {
      const first = child.output().split("\n").find((l) => l.startsWith("{"))
      if (first !== undefined) {
        clearTimeout(timer)
        resolve(first)
      }
    })
    void child.exited.then((code) => reject(new Error(`owner exited (${code}):\n${child.output()}`)))
  })
  const { pid, url } = JSON.parse(line) as { pid: number; url: string }
  const get = async (path: string, authorization?: string) => {
    const response = await fetch(url + path, authorization ? { headers: { authorization } } : {})
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return {
    pid,
    url,
    whoami: (authorization) => get("/whoami", authorization),
    whoamiCookie: () => get("/whoami/cookie"),
    stop: async () => {
      child.process.kill("SIGTERM")
      assert.strictEqual(await child.exited, 0, child.output())
    }
  }
}

/** A pid that no process has: one that just exited. */
const deadPid = async (): Promise<number> => {
  const child = run(["-e", ""])
  await child.exited
  return child.process.pid!
}

const query = async (url: string, sql: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

describe("the embedded default", () => {
  it("defaults to .data/fusion-auth under the working directory, or FUSION_AUTH_DATA_DIR; memory only when asked", () => {
    const saved = process.env.FUSION_AUTH_DATA_DIR
    try {
      delete process.env.FUSION_AUTH_DATA_DIR
      assert.strictEqual(Database.dataDirOf(), join(process.cwd(), ".data", "fusion-auth"))
      process.env.FUSION_AUTH_DATA_DIR = "/srv/app/db"
      assert.strictEqual(Database.dataDirOf(), "/srv/app/db")
      assert.strictEqual(Database.dataDirOf({ dataDir: "relative/db" }), join(process.cwd(), "relative", "db"))
      assert.strictEqual(Database.dataDirOf({ dataDir: Database.MEMORY }), "memory://")
    } finally {
      if (saved === undefined) delete process.env.FUSION_AUTH_DATA_DIR
      else process.env.FUSION_AUTH_DATA_DIR = saved
    }
  })

  it("keeps its data across a close and reopen, holds the lock while open and frees it on close", async () => {
    const dataDir = freshDir()
    const first = await Database.leaseEmbedded({ dataDir })
    assert.deepInclude(EmbeddedLock.read(dataDir), { pid: process.pid, url: first.url })
    await query(first.url, "create table kept (v text); insert into kept values ('still here')")
    await first.release()
    assert.isFalse(existsSync(join(dataDir, EmbeddedLock.LOCK_FILE)))
    const second = await Database.leaseEmbedded({ dataDir })
    try {
      assert.deepStrictEqual(await query(second.url, "select v from kept"), [{ v: "still here" }])
    } finally {
      await second.release()
    }
  })

  it("is shared by every user in the process and closes when the last one lets go", async () => {
    const dataDir = freshDir()
    const a = await Database.leaseEmbedded({ dataDir })
    const b = await Database.leaseEmbedded({ dataDir })
    assert.strictEqual(a.url, b.url)
    await a.release()
    assert.deepStrictEqual(await query(b.url, "select 1 as one"), [{ one: 1 }])
    await b.release()
    assert.isFalse(existsSync(join(dataDir, EmbeddedLock.LOCK_FILE)))
  })
})

describe("one owner per folder", () => {
  it("refuses a live owner's folder with one line naming its pid", async () => {
    const dataDir = freshDir()
    const owner = await startOwner(dataDir)
    const refused = await Database.leaseEmbedded({ dataDir }).then(() => undefined, (error: unknown) => error)
    assert.instanceOf(refused, EmbeddedLock.EmbeddedDatabaseInUse)
    const message = (refused as Error).message
    assert.notInclude(message, "\n")
    assert.include(message, `in use by process ${owner.pid}`)
    assert.include(message, dataDir)

    // A second app on the same folder refuses to start, saying the same.
    const second = run([ownerScript, dataDir])
    children.push(second)
    assert.strictEqual(await second.exited, 3)
    assert.include(second.output(), `in use by process ${owner.pid}`)
    assert.strictEqual((await owner.whoami()).status, 401) // and the owner is unharmed
  })

  it("takes over a lock whose process died", async () => {
    const dataDir = freshDir()
    const first = await Database.leaseEmbedded({ dataDir })
    await first.release()
    const pid = await deadPid()
    writeFileSync(join(dataDir, EmbeddedLock.LOCK_FILE), JSON.stringify({ pid, started: null, url: "postgres://postgres@127.0.0.1:9/postgres" }))
    const lease = await Database.leaseEmbedded({ dataDir })
    try {
      assert.deepInclude(EmbeddedLock.read(dataDir), { pid: process.pid, url: lease.url })
      assert.deepStrictEqual(await query(lease.url, "select 1 as one"), [{ one: 1 }])
    } finally {
      await lease.release()
    }
  })

  it("takes over a lock naming a live pid that is another process (pid reused)", async () => {
    const dataDir = freshDir()
    const { mkdirSync } = await import("node:fs")
    mkdirSync(dataDir, { recursive: true })
    // Our parent is alive, but it did not start at the time this lock says.
    writeFileSync(join(dataDir, EmbeddedLock.LOCK_FILE), JSON.stringify({ pid: process.ppid, started: "1", url: null }))
    const lease = await Database.leaseEmbedded({ dataDir })
    await lease.release()
  })

  it("takes over an unreadable lock after a grace period", async () => {
    const dataDir = freshDir()
    const { mkdirSync } = await import("node:fs")
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(join(dataDir, EmbeddedLock.LOCK_FILE), "{ not json")
    const lease = await Database.leaseEmbedded({ dataDir })
    try {
      assert.strictEqual(EmbeddedLock.read(dataDir)?.pid, process.pid)
    } finally {
      await lease.release()
    }
  })

  it("lets exactly one of several racing processes take over a stale lock", async () => {
    const dataDir = freshDir()
    const { mkdirSync } = await import("node:fs")
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(join(dataDir, EmbeddedLock.LOCK_FILE), JSON.stringify({ pid: await deadPid(), started: null, url: null }))
    const lock = join(import.meta.dirname, "../src/sql/EmbeddedLock.ts")
    const racer = `
      const { acquire } = await import(${JSON.stringify(lock)})
      const result = await acquire(${JSON.stringify(dataDir)})
      console.log("held" in result ? "held" : "owner " + result.owner.pid)
      await new Promise((r) => setTimeout(r, 1500))
      if ("held" in result) result.held.release()`
    const racers = Array.from({ length: 4 }, () => run(["--input-type=module", "-e", racer]))
    children.push(...racers)
    const codes = await Promise.all(racers.map((r) => r.exited))
    assert.deepStrictEqual(codes, [0, 0, 0, 0], racers.map((r) => r.output()).join("\n"))
    const answers = racers.map((r) => r.output().trim())
    const holders = racers.filter((_, i) => answers[i] === "held")
    assert.strictEqual(holders.length, 1, answers.join(", "))
    for (const answer of answers) if (answer !== "held") assert.strictEqual(answer, `owner ${holders[0]!.process.pid}`)
    assert.isFalse(existsSync(join(dataDir, EmbeddedLock.LOCK_FILE)))
  })
})

describe("the CLI beside a running app", () => {
  it("goes through the app's server: its writes are seen on the very next request and outlive the app", async () => {
    const dataDir = freshDir()
    const owner = await startOwner(dataDir)
    const cli = (...args: Array<string>) => fusionAuth(["--data-dir", dataDir, "--json", ...args])

    const listed = await cli("users", "list")
    assert.strictEqual(listed.code, 0, listed.stderr)
    assert.deepStrictEqual((JSON.parse(listed.stdout) as Array<{ email: string }>).map((u) => u.email), ["ada@example.com"])
    assert.strictEqual(EmbeddedLock.read(dataDir)?.pid, owner.pid) // the CLI never took the folder

    const created = await cli("tokens", "create", "--user", "ada@example.com", "--name", "ci")
    assert.strictEqual(created.code, 0, created.stderr)
    const bearer = `Bearer ${(JSON.parse(created.stdout) as { token: string }).token}`
    assert.deepStrictEqual(await owner.whoami(bearer), { status: 200, body: { status: 200, email: "ada@example.com", via: "token" } })
    assert.deepStrictEqual(await owner.whoamiCookie(), { status: 200, body: { status: 200, email: "ada@example.com", via: "cookie" } })

    assert.strictEqual((await cli("users", "deactivate", "ada@example.com")).code, 0)
    assert.deepStrictEqual(await owner.whoami(bearer), { status: 401, body: { status: 401, error: "Deactivated" } })
    assert.deepStrictEqual(await owner.whoamiCookie(), { status: 401, body: { status: 401, error: "Deactivated" } })

    assert.strictEqual((await cli("users", "reactivate", "ada@example.com")).code, 0)
    assert.strictEqual((await owner.whoami(bearer)).status, 200)
    assert.strictEqual((await owner.whoamiCookie()).status, 200)

    // A last security write, then the app stops: nothing of it is lost.
    assert.strictEqual((await cli("users", "deactivate", "ada@example.com")).code, 0)
    await owner.stop()
    assert.isFalse(existsSync(join(dataDir, EmbeddedLock.LOCK_FILE)))
    const after = await cli("users", "list", "--deactivated")
    assert.strictEqual(after.code, 0, after.stderr)
    assert.deepStrictEqual((JSON.parse(after.stdout) as Array<{ email: string }>).map((u) => u.email), ["ada@example.com"])

    // And the app, started again, still refuses her.
    const again = await startOwner(dataDir)
    assert.deepStrictEqual(await again.whoami(bearer), { status: 401, body: { status: 401, error: "Deactivated" } })
    await again.stop()
    assert.strictEqual(readFileSync(join(dataDir, "PG_VERSION"), "utf8").trim().length > 0, true)
  }, 180_000)
})
