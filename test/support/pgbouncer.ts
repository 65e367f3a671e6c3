/**
 * A real PgBouncer (Debian's `pgbouncer` package) in front of the Postgres in `DATABASE_URL`,
 * for the suites that run behind a transaction pooler: its own folder, a free port on
 * 127.0.0.1, `pool_mode = transaction` and a small server pool. Run as the `postgres` user
 * when the suite runs as root (PgBouncer refuses to run as root). `.ci/run` installs it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { freePort } from "./net.ts"

export const PGBOUNCER = "/usr/sbin/pgbouncer"

export interface Bouncer {
  /** `target`'s URL with PgBouncer's host and port instead. */
  readonly url: (target: string) => string
  /** The backend pids of PgBouncer's server connections to `database`. */
  readonly serverPids: (database: string) => Promise<Array<number>>
  stop(): Promise<void>
}

export const startPgBouncer = async (serverUrl: string, options: { readonly poolSize: number }): Promise<Bouncer> => {
  if (!existsSync(PGBOUNCER)) throw new Error(`${PGBOUNCER} is missing: apt-get install pgbouncer (.ci/run does)`)
  const server = new URL(serverUrl)
  const dir = mkdtempSync(join(tmpdir(), "fusion-pgbouncer-"))
  chmodSync(dir, 0o755)
  const port = await freePort()
  writeFileSync(join(dir, "userlist.txt"), `"${decodeURIComponent(server.username || "postgres")}" ""\n`)
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${server.hostname} port=${server.port || 5432}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      `default_pool_size = ${options.poolSize}`,
      "min_pool_size = 0",
      "reserve_pool_size = 0",
      "max_client_conn = 1000",
      `admin_users = ${decodeURIComponent(server.username || "postgres")}`,
      "ignore_startup_parameters = extra_float_digits,options",
      "server_reset_query =",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`
    ].join("\n") + "\n"
  )
  const asPostgres = process.getuid?.() === 0
  if (asPostgres) execFileSync("chown", ["-R", "postgres:postgres", dir])
  const command = asPostgres ? ["runuser", "-u", "postgres", "--", PGBOUNCER] : [PGBOUNCER]
  const child: ChildProcess = spawn(command[0]!, [...command.slice(1), join(dir, "pgbouncer.ini")], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()))
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()))
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const url = (target: string) => {
    const u = new URL(target)
    u.hostname = "127.0.0.1"
    u.port = String(port)
    return u.toString()
  }
  // Ready when a query goes through it.
  const deadline = Date.now() + 15_000
  for (;;) {
    const client = new pg.Client({ connectionString: url(serverUrl) })
    client.on("error", () => undefined)
    const ok = await client.connect().then(() => client.query("select 1")).then(() => true, () => false)
    await client.end().catch(() => undefined)
    if (ok) break
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`PgBouncer did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url,
    // PgBouncer's admin console: its server connections, with the backend pid of each.
    serverPids: async (database) => {
      const console = new pg.Client({ connectionString: url(serverUrl).replace(/\/[^/?]*(\?|$)/, "/pgbouncer$1") })
      await console.connect()
      try {
        const { rows } = await console.query<{ database: string; remote_pid: string }>("SHOW SERVERS")
        return rows.filter((r) => r.database === database).map((r) => Number(r.remote_pid))
      } finally {
        await console.end()
      }
    },
    stop: async () => {
      child.kill("SIGTERM")
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
