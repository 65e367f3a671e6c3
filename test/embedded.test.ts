/**
 * The embedded default: a durable folder with one owner process. A live owner's folder is
 * refused by a second app (one line naming the owner's pid) and reached through the owner's
 * loopback server by the CLI, whose writes the running app sees on its very next request and
 * which outlive the app; a dead owner's lock is taken over, by exactly one of many racers.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { ConfigProvider, Effect } from "effect"
import { afterEach } from "vitest"
import * as Database from "../src/sql/Database.ts"
import * as EmbeddedLock from "../src/sql/EmbeddedLock.ts"
import { PGDATA } from "../src/sql/EmbeddedUpgrade.ts"
import { createAuthSession, migrate } from "../src/index.ts"
import { authOn, signUp } from "./support/auth.ts"
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

const run = (args: ReadonlyArray<string>, command: ReadonlyArray<string> = [process.execPath]): Child => {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { env: env(), stdio: ["ignore", "pipe", "pipe"] })
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

/** `command`: how the owner's node is started (e.g. inside `unshare`); `seenAs`: the folder's path where the owner runs. */
const startOwner = async (dataDir: string, command?: ReadonlyArray<string>, seenAs = dataDir): Promise<Owner> => {
  const child = run([ownerScript, seenAs], command)
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
      // Inside `unshare --fork` the app is unshare's child: signal it, and unshare exits with it.
      const node = command === undefined ? child.process.pid! : childOf(child.process.pid!)
      process.kill(node, "SIGTERM")
      assert.strictEqual(await child.exited, 0, child.output())
    }
  }
}

const childOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ")[0])

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
  it("defaults to .data/fusion-auth under the working directory, or FUSION_AUTH_DATA_DIR (read through Config); memory only when asked", () => {
    const withEnv = (env: Record<string, string>, options?: Database.DatabaseOptions) =>
      Effect.runSync(Database.dataDir(options).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))))
    assert.strictEqual(withEnv({}), join(process.cwd(), ".data", "fusion-auth"))
    assert.strictEqual(withEnv({ FUSION_AUTH_DATA_DIR: "" }), join(process.cwd(), ".data", "fusion-auth"))
    assert.strictEqual(withEnv({ FUSION_AUTH_DATA_DIR: "/srv/app/db" }), "/srv/app/db")
    assert.strictEqual(withEnv({ FUSION_AUTH_DATA_DIR: "/srv/app/db" }, { dataDir: "relative/db" }), join(process.cwd(), "relative", "db"))
    assert.strictEqual(Database.dataDirOf({ dataDir: Database.MEMORY }), "memory://")
  })

  it("dataDir memory:// is a test's own database whatever DATABASE_URL names: sign-up, migrate and resolution never reach that server; an explicit url still wins", async () => {
    const saved = process.env.DATABASE_URL
    process.env.DATABASE_URL = "postgres://nobody@127.0.0.1:1/unreachable" // a connection there fails at once
    try {
      const database = { dataDir: Database.MEMORY }
      const auth = authOn(database)
      await migrate(auth, database)
      const app = createAuthSession(auth, { database })
      try {
        const { cookie } = await signUp(auth, "in-memory@example.com")
        assert.strictEqual((await app.getSession(new Headers({ cookie })))?.user.email, "in-memory@example.com")
      } finally {
        await app.dispose()
      }
      const withUrl = Database.betterAuthDatabase({ ...database, url: process.env.DATABASE_URL })
      const driver = withUrl.dialect.createDriver()
      await driver.init()
      const refused = await driver.acquireConnection().then(() => "connected", (error: Error) => error.message)
      assert.match(refused, /ECONNREFUSED/)
      await Database.closeBetterAuthDatabase(withUrl)
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL
      else process.env.DATABASE_URL = saved
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

const root = process.getuid?.() === 0

/** `psql` as another, unprivileged user (uid 65534, "nobody"), with the exit code and what it printed. */
const psqlAsNobody = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "psql", "-X", "-w", ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PGCONNECT_TIMEOUT: "5" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (c: Buffer) => (output += c.toString()))
    child.stderr.on("data", (c: Buffer) => (output += c.toString()))
    child.once("exit", (code) => resolve({ code, output }))
  })

/** The TCP ports a process listens on, from /proc: its sockets' inodes in the listening rows of tcp and tcp6. */
const listeningPorts = (pid: number): Array<number> => {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]].filter((x) => x !== undefined)
      } catch {
        return []
      }
    })
  )
  return ["tcp", "tcp6"].flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, "utf8").split("\n").slice(1).flatMap((line) => {
      const cols = line.trim().split(/\s+/)
      return cols[3] === "0A" && inodes.has(cols[9]!) ? [parseInt(cols[1]!.split(":")[1]!, 16)] : []
    })
  )
}

describe("who can reach the embedded database", () => {
  it("only its folder's user: a Unix socket in the folder (mode 0700), no network address; another local user is refused", async () => {
    const dataDir = freshDir()
    chmodSync(join(dataDir, ".."), 0o755) // only the data folder's own mode stands in the way
    const owner = await startOwner(dataDir)
    const lock = EmbeddedLock.read(dataDir)!
    const socketDir = new URL(lock.url!).searchParams.get("host")!
    assert.strictEqual(socketDir, dataDir)
    assert.strictEqual(statSync(dataDir).mode & 0o777, 0o700)
    assert.isTrue(statSync(join(dataDir, ".s.PGSQL.5432")).isSocket())
    assert.strictEqual(statSync(join(dataDir, ".s.PGSQL.5432")).mode & 0o777, 0o600)
    assert.strictEqual(statSync(join(dataDir, EmbeddedLock.LOCK_FILE)).mode & 0o777, 0o600)
    // The folder's user reaches it (psql -h <folder>, as libpq names the socket).
    assert.deepStrictEqual(await query(lock.url!, "select count(*)::int as n from \"user\""), [{ n: 1 }])

    // What the owner listens on over TCP is its app's HTTP port, not the database.
    assert.deepStrictEqual(listeningPorts(owner.pid), [Number(new URL(owner.url).port)])
    await owner.stop()
  })

  // Another user needs root to become (CI runs as root); root itself passes file modes, so it cannot be the other user.
  it.runIf(root)("refuses another local user (uid 65534) at the one address the owner serves, its socket", async () => {
    const dataDir = freshDir()
    chmodSync(join(dataDir, ".."), 0o755)
    const owner = await startOwner(dataDir)
    assert.deepStrictEqual(listeningPorts(owner.pid), [Number(new URL(owner.url).port)]) // no database on TCP: only the app's HTTP
    const bySocket = await psqlAsNobody(["-h", dataDir, "-U", "postgres", "-d", "postgres", "-c", "select count(*) from \"session\""])
    assert.notStrictEqual(bySocket.code, 0, bySocket.output)
    assert.include(bySocket.output, "Permission denied")
    await owner.stop()
  })
})

describe("a lock that knows where its owner lives", () => {
  const machine = `boot:${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`
  /** A lock as an owner elsewhere writes it; `renewed`: its heartbeat moves every half second, as a live owner's does. */
  const foreignLock = (dataDir: string, fields: Record<string, unknown>, renewed: boolean) => {
    mkdirSync(dataDir, { recursive: true })
    const write = () =>
      writeFileSync(join(dataDir, EmbeddedLock.LOCK_FILE), JSON.stringify({ pid: 13, started: "42", host: hostname(), machine, namespace: "pid:[1]", id: "elsewhere", heartbeat: Date.now(), url: null, ...fields }))
    write()
    if (!renewed) return () => undefined
    const timer = setInterval(write, 500)
    return () => clearInterval(timer)
  }

  it("records host, PID namespace, pid, start time and a heartbeat the owner renews", async () => {
    const dataDir = freshDir()
    const lease = await Database.leaseEmbedded({ dataDir })
    try {
      const first = EmbeddedLock.read(dataDir)!
      assert.strictEqual(first.pid, process.pid)
      assert.strictEqual(first.host, hostname())
      assert.strictEqual(first.namespace, readlinkSync("/proc/self/ns/pid"))
      assert.isString(first.started)
      await new Promise((r) => setTimeout(r, EmbeddedLock.HEARTBEAT_MS * 2 + 200))
      const later = EmbeddedLock.read(dataDir)!
      assert.isAbove(later.heartbeat!, first.heartbeat!)
      assert.strictEqual(later.url, first.url)
    } finally {
      await lease.release()
    }
  })

  it("never takes over a live lock from another PID namespace or machine: the app refuses naming where its owner is, and so does the CLI for another machine", async () => {
    const dataDir = freshDir()
    let stop = foreignLock(dataDir, {}, true)
    try {
      const refused = await Database.leaseEmbedded({ dataDir }).then(() => undefined, (error: unknown) => error)
      assert.instanceOf(refused, EmbeddedLock.EmbeddedDatabaseInUse)
      assert.include((refused as Error).message, "process 13 in another PID namespace (pid:[1]")
      assert.strictEqual(EmbeddedLock.read(dataDir)?.pid, 13)
    } finally {
      stop()
    }

    // Another machine: its clock may be anywhere (an hour behind here), only its heartbeat moving counts.
    stop = foreignLock(dataDir, { host: "db-host-2", machine: "boot:another-kernel", socket: "/nowhere" }, true)
    try {
      const cli = await fusionAuth(["--data-dir", dataDir, "users", "list"])
      assert.strictEqual(cli.code, 1)
      assert.strictEqual(cli.stderr.trim().split("\n").length, 1, cli.stderr)
      assert.include(cli.stderr, "in use by process 13 on host db-host-2")
      assert.strictEqual(EmbeddedLock.read(dataDir)?.host, "db-host-2") // the CLI never took the folder
    } finally {
      stop()
    }
  }, 60_000)

  it("takes over a lock from another namespace or machine once its heartbeat stops moving (a container killed, then restarted)", async () => {
    // Both cases at once, each in its own folder: each waits the full STALE_MS on its own.
    await Promise.all([{}, { host: "db-host-2", machine: "boot:another-kernel" }].map(async (where) => {
      const dataDir = freshDir()
      // Written a moment ago, then never again: its owner was killed without releasing it.
      foreignLock(dataDir, where, false)
      const started = Date.now()
      const lease = await Database.leaseEmbedded({ dataDir })
      assert.isAtLeast(Date.now() - started, EmbeddedLock.STALE_MS - 1_000)
      try {
        assert.deepInclude(EmbeddedLock.read(dataDir), { pid: process.pid, host: hostname(), url: lease.url })
        assert.deepStrictEqual(await query(lease.url, "select 1 as one"), [{ one: 1 }])
      } finally {
        await lease.release()
      }
    }))
  }, 90_000)
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
    assert.strictEqual(readFileSync(join(dataDir, PGDATA, "PG_VERSION"), "utf8").trim().length > 0, true) // PostgreSQL's files in pgdata/
  }, 180_000)

  it("psql left at BEGIN through the app's server: the app answers again within the idle limit, and the stalled write is rolled back", async () => {
    const dataDir = freshDir()
    const owner = await startOwner(dataDir)
    const psql = spawn("psql", ["-X", "-h", dataDir, "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1"], { stdio: ["pipe", "pipe", "pipe"] })
    let printed = ""
    psql.stdout.on("data", (c: Buffer) => (printed += c.toString()))
    const exited = new Promise<number | null>((resolve) => psql.once("exit", resolve))
    try {
      psql.stdin.write(`begin;\nupdate "user" set "deactivatedAt" = now();\nselect 'stalled' as mark;\n`)
      while (!printed.includes("stalled")) await new Promise((r) => setTimeout(r, 50))
      // psql now holds the database inside its transaction, and says nothing more.
      const started = performance.now()
      const answer = await owner.whoamiCookie()
      const waited = performance.now() - started
      assert.deepStrictEqual(answer, { status: 200, body: { status: 200, email: "ada@example.com", via: "cookie" } })
      assert.isAtLeast(waited, 5_000) // it did hold the database
      assert.isBelow(waited, 10_000 + 3_000) // the default limit, 10 s
      assert.deepStrictEqual(await query(EmbeddedLock.read(dataDir)!.url!, `select count(*)::int as n from "user" where "deactivatedAt" is not null`), [{ n: 0 }])
    } finally {
      psql.stdin.end()
      await exited
    }
    await owner.stop()
  }, 60_000)

  // `unshare --pid` needs root (CI runs as root).
  it.runIf(root)("reaches an app in its own PID namespace (a container with the volume at its own path) through its socket, and never opens the folder itself", async () => {
    const dataDir = freshDir()
    const volume = join(dataDir, "..")
    const mountPoint = mkdtempSync(join(tmpdir(), "fusion-auth-volume-"))
    dirs.push(mountPoint)
    // As a container: its own PID and mount namespaces, the volume mounted at another path.
    const container = ["unshare", "--pid", "--uts", "--fork", "--mount-proc", "sh", "-c", 'hostname app-container && mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", volume, mountPoint, process.execPath]
    const owner = await startOwner(dataDir, container, join(mountPoint, "data"))
    const lock = EmbeddedLock.read(dataDir)!
    assert.strictEqual(owner.pid, 1) // its pid means nothing here: pid 1 in its namespace
    assert.strictEqual(lock.pid, 1)
    assert.notStrictEqual(lock.namespace, readlinkSync("/proc/self/ns/pid"))
    assert.strictEqual(lock.host, "app-container") // its own host name, as a container has
    assert.include(lock.url!, encodeURIComponent(mountPoint)) // the app's own path, which means nothing on the host
    assert.isFalse(existsSync(join(mountPoint, "data")))
    const cli = (...args: Array<string>) => fusionAuth(["--data-dir", dataDir, "--json", ...args])
    assert.strictEqual((await owner.whoamiCookie()).status, 200)

    const deactivated = await cli("users", "deactivate", "ada@example.com")
    assert.strictEqual(deactivated.code, 0, deactivated.stderr)
    assert.deepStrictEqual(await owner.whoamiCookie(), { status: 401, body: { status: 401, error: "Deactivated" } })
    assert.deepStrictEqual(EmbeddedLock.read(dataDir), { ...EmbeddedLock.read(dataDir)!, pid: 1, namespace: lock.namespace }) // still the app's

    await owner.stop()
    const after = await cli("users", "list", "--deactivated")
    assert.strictEqual(after.code, 0, after.stderr)
    assert.deepStrictEqual((JSON.parse(after.stdout) as Array<{ email: string }>).map((u) => u.email), ["ada@example.com"])
  }, 180_000)
})
