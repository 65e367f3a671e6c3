/**
 * A throwaway Postgres server for the fault and revocation tests: `initdb` into a temp folder,
 * run as the `postgres` OS user on a free loopback port, so a test can stop and start it
 * without touching the machine's shared cluster that other suites run against.
 *
 * `track_commit_timestamp` is on, so a test can ask Postgres when a transaction committed.
 */
import { execFile, execFileSync } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import pg from "pg"
import { freePort } from "../../support/net.ts"

const run = promisify(execFile)

/** The newest Postgres binaries folder under /usr/lib/postgresql, or undefined. */
export const postgresBin = ((): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin")
})()

/** Root must hand the server to the `postgres` user (initdb refuses to run as root). */
const asPostgres = (): { uid: number; gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
  return { uid, gid }
}

/**
 * True when a throwaway server can be made here (Postgres installed; as root, a postgres user).
 * Under CI it is always true: there a missing server must fail these suites, never skip them.
 */
export const canRunPostgres = process.env.CI === "true" || ((): boolean => {
  if (postgresBin === undefined) return false
  try {
    asPostgres()
    return true
  } catch {
    return false
  }
})()

export interface PostgresServer {
  readonly port: number
  /** A connection URL to `database` on this server (default `postgres`), with optional query parameters. */
  url(database?: string, params?: Record<string, string>): string
  /** One short-lived connection: connect, query, disconnect. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: ReadonlyArray<unknown>, database?: string): Promise<ReadonlyArray<R>>
  createDatabase(name: string): Promise<void>
  /** `pg_ctl stop -m fast`: disconnects every client, then stops. */
  stop(): Promise<void>
  /** `pg_ctl start`, waiting until it accepts connections. */
  start(): Promise<void>
  /** Stops the server (immediately) and removes its folder. */
  destroy(): Promise<void>
}

/** Starts a fresh server. Call `destroy` when done (an exit hook does it too, if a test dies). */
export const startPostgres = async (): Promise<PostgresServer> => {
  if (postgresBin === undefined) throw new Error("no Postgres binaries under /usr/lib/postgresql")
  const owner = asPostgres()
  const dir = mkdtempSync(join(tmpdir(), "fusion-auth-pg-"))
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid)
  const data = join(dir, "data")
  const log = join(dir, "server.log")
  const command = (name: string, args: ReadonlyArray<string>): [string, Array<string>] =>
    owner === undefined
      ? [join(postgresBin, name), [...args]]
      : ["runuser", ["-u", "postgres", "--", join(postgresBin, name), ...args]]
  const pgctl = async (...args: Array<string>) => {
    const [file, argv] = command("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", ...args])
    await run(file, argv, { timeout: 90_000 })
  }

  const [initFile, initArgs] = command("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
  await run(initFile, initArgs, { timeout: 120_000 })
  const port = await freePort()
  const conf = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    "max_connections = 200",
    "fsync = off",
    "full_page_writes = off",
    "track_commit_timestamp = on",
    "shared_buffers = '64MB'"
  ].join("\n")
  writeFileSync(join(data, "postgresql.conf"), `\n${conf}\n`, { flag: "a" })

  let running = false
  const stopNow = () => {
    if (!running) return
    running = false
    try {
      const [file, argv] = command("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
      execFileSync(file, argv, { stdio: "ignore", timeout: 30_000 })
    } catch {
      // already stopped
    }
  }
  const onExit = () => {
    stopNow()
    rmSync(dir, { recursive: true, force: true })
  }
  process.once("exit", onExit)

  await pgctl("start")
  running = true

  const url = (database = "postgres", params: Record<string, string> = {}) => {
    const u = new URL(`postgres://postgres@127.0.0.1:${port}/${database}`)
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v)
    return u.toString()
  }
  const query = async <R extends Record<string, unknown>>(text: string, values: ReadonlyArray<unknown> = [], database = "postgres") => {
    const client = new pg.Client({ connectionString: url(database, { application_name: "reliability-test" }) })
    await client.connect()
    try {
      return (await client.query<R>(text, values as Array<unknown>)).rows
    } finally {
      await client.end()
    }
  }

  return {
    port,
    url,
    query,
    createDatabase: async (name) => {
      await query(`create database "${name}"`)
    },
    stop: async () => {
      await pgctl("-m", "fast", "stop")
      running = false
    },
    start: async () => {
      await pgctl("start")
      running = true
    },
    destroy: async () => {
      process.removeListener("exit", onExit)
      onExit()
    }
  }
}
