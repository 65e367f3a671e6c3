/**
 * Many instances on one Postgres, through a real PgBouncer in transaction pooling with 4
 * server connections: four instances of the example app's production build, each told
 * `?pooler=transaction&connection_limit=4` in its `DATABASE_URL`, under mixed cookie and token
 * load at 64 concurrent requests. Meanwhile the CLI deactivates a user and revokes a token,
 * an admin bans a user through Better Auth's admin plugin (`/api/auth/admin/ban-user`, on one
 * instance) and the app signs a user out; each is refused by every instance on the next
 * request that starts after it is visible. Postgres logs no error for the database, and
 * PgBouncer's server connections keep their memory flat (no named statements pile up on them).
 *
 * Twice, each on its own database: sessions in Postgres, then in Redis (Better Auth's
 * `secondaryStorage`, the example's `REDIS_URL`, under a key prefix of this run's own that is
 * deleted after), where every cookie is handed to Better Auth's `getSession`.
 *
 * Postgres only (`DATABASE_URL`), with Debian's `pgbouncer` installed and Redis running
 * (`REDIS_URL`, default `redis://127.0.0.1:6379`; `.ci/run` installs and starts both).
 */
import { assert, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { buildExample, startExample } from "../bench/http.ts"
import { fusionAuth } from "./support/cli.ts"
import { freePort } from "./support/net.ts"
import { type Bouncer, startPgBouncer } from "./support/pgbouncer.ts"
import { connectRedis } from "./support/redis.ts"

const serverUrl = process.env.DATABASE_URL
const INSTANCES = 4
const CONCURRENCY = 64
/** Per variant. */
const LOAD_MS = Number(process.env.POOLER_LOAD_MS ?? 10_000)
const POSTGRES_LOG = "/var/log/postgresql"
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const PASSWORD = "correct horse battery"

const variants = [
  { name: "sessions in Postgres", redis: false },
  { name: "sessions in Redis (secondaryStorage)", redis: true }
] as const

interface Caller {
  readonly email: string
  readonly id: string
  readonly cookie: string
  token: string
  tokenId: string
}

/**
 * What ended: a credential that may be refused from the moment the change is asked for, and
 * must be by a request started after `at`, when the change was visible (the command returned).
 */
interface Ended {
  readonly email: string
  readonly credential: "cookie" | "token" | "both"
  at: number
}

/** The Postgres log lines about `database` written since `offset`, when the log is readable here. */
const logSince = (offset: Map<string, number>, database: string): Array<string> => {
  if (!existsSync(POSTGRES_LOG)) return []
  return [...offset].flatMap(([file, from]) => {
    const text = readFileSync(file).subarray(from).toString()
    return text.split("\n").filter((line) => line.includes(`@${database} `))
  })
}

const logOffsets = (): Map<string, number> => {
  const offsets = new Map<string, number>()
  if (!existsSync(POSTGRES_LOG)) return offsets
  for (const name of readdirSync(POSTGRES_LOG)) {
    if (name.endsWith(".log")) offsets.set(join(POSTGRES_LOG, name), statSync(join(POSTGRES_LOG, name)).size)
  }
  return offsets
}

/** A backend's private memory (kB), from /proc: what its own caches (prepared statements, plans) hold. */
const privateKb = (pid: number): number => {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8")
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0)
  return field("Private_Clean") + field("Private_Dirty")
}

/** Signs up on `origin`: the user's id and the browser's cookie. */
const signUp = async (origin: string, email: string, name: string) => {
  const response = await fetch(`${origin}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ email, password: PASSWORD, name })
  })
  assert.strictEqual(response.status, 200, await response.clone().text())
  const body = (await response.json()) as { user: { id: string } }
  return { id: body.user.id, cookie: response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") }
}

describe.runIf(serverUrl)("four instances behind PgBouncer (transaction pooling, 4 server connections)", () => {
  beforeAll(() => buildExample(), 300_000)

  describe.each(variants)("$name", ({ redis }) => {
    const run = `${process.pid}_${randomBytes(3).toString("hex")}`
    const database = `fusion_pooler_${run}`
    const prefix = `fusion-auth-pooler:${run}:`
    let bouncer: Bouncer
    let direct: string
    let pooled: string
    const instances: Array<{ readonly origin: string; stop(): Promise<void> }> = []

    beforeAll(async () => {
      const admin = new pg.Client({ connectionString: serverUrl })
      await admin.connect()
      await admin.query(`create database "${database}"`)
      await admin.end()
      const url = new URL(serverUrl!)
      url.pathname = `/${database}`
      direct = url.toString()
      bouncer = await startPgBouncer(serverUrl!, { poolSize: 4 })
      const through = new URL(bouncer.url(url.toString()))
      through.searchParams.set("pooler", "transaction")
      through.searchParams.set("connection_limit", "4")
      pooled = through.toString()
      const secret = randomBytes(32).toString("base64url")
      const start = async () => {
        const port = await freePort()
        const origin = `http://127.0.0.1:${port}`
        const app = await startExample({
          PORT: String(port),
          BETTER_AUTH_URL: origin,
          BETTER_AUTH_SECRET: secret,
          DATABASE_URL: pooled,
          // Set either way, so a REDIS_URL in the environment does not turn the first variant into the second.
          REDIS_URL: redis ? REDIS_URL : "",
          REDIS_KEY_PREFIX: prefix
        })
        instances.push({ origin, stop: app.stop })
      }
      // Migrations run once: the first instance migrates, then the others start together (docs/sessions.md).
      await start()
      await Promise.all(Array.from({ length: INSTANCES - 1 }, start))
    }, 300_000)

    afterAll(async () => {
      await Promise.all(instances.map((i) => i.stop()))
      await bouncer?.stop()
      const admin = new pg.Client({ connectionString: serverUrl })
      await admin.connect()
      await admin.query(`drop database if exists "${database}" with (force)`)
      await admin.end()
      if (redis) {
        const client = await connectRedis(REDIS_URL)
        await client.del(...(await client.keys(`${prefix}*`)))
        await client.close()
      }
    }, 120_000)

    it("answers every request rightly under load, refuses each change at every instance on the next request, and Postgres logs no error", async () => {
      const began = Date.now()
      const cli = (...args: Array<string>) => fusionAuth(["--json", ...args], { env: { DATABASE_URL: pooled } })
      const origin = (i: number) => instances[i % INSTANCES]!.origin
      // The first account is the site admin (the example's hook; the admin plugin's "admin" role).
      const adminEmail = `admin.${Date.now()}@example.com`
      const siteAdmin = { email: adminEmail, ...(await signUp(origin(0), adminEmail, "Admin")) }
      // The callers, together (members all, now that the admin exists): each signs up and makes a
      // token with its browser session, through the app's token endpoint, on its own instance.
      const callers: Array<Caller> = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
        const email = `load.${i}.${Date.now()}@example.com`
        const { id, cookie } = await signUp(origin(i), email, `Load ${i}`)
        const created = await fetch(`${origin(i)}/api/auth/fusion-auth/tokens/create`, {
          method: "POST",
          headers: { "content-type": "application/json", cookie, origin: origin(i) },
          body: JSON.stringify({ name: "load" })
        })
        assert.strictEqual(created.status, 200, await created.clone().text())
        const { token, info } = (await created.json()) as { token: string; info: { id: string } }
        return { email, id, cookie, token, tokenId: info.id }
      }))
      // Every instance sees the plugin's role. (Each instance's first cookie was resolved inside the
      // token endpoint above, so fusion-auth's start-up probe ran inside a Better Auth endpoint: it
      // must write nothing through the app's adapter, which Postgres's log below would show.)
      for (let i = 0; i < INSTANCES; i++) {
        const me = await fetch(`${origin(i)}/api/me`, { headers: { cookie: siteAdmin.cookie } })
        assert.strictEqual(((await me.json()) as { role?: string }).role, "admin", `the admin's role at instance ${i}`)
      }
      const setUp = Date.now()
      // Where the sessions are: Postgres's session table, or Redis under this run's prefix.
      const sessionRows = async () => {
        const client = new pg.Client({ connectionString: direct })
        await client.connect()
        try {
          // With secondaryStorage, Better Auth's migrations make no session table at all.
          const { rows } = await client.query<{ table: string | null }>(`select to_regclass('"session"')::text as table`)
          if (rows[0]!.table === null) return 0
          return Number((await client.query<{ n: string }>(`select count(*)::text as n from "session"`)).rows[0]!.n)
        } finally {
          await client.end()
        }
      }
      if (redis) {
        const client = await connectRedis(REDIS_URL)
        const keys = await client.keys(`${prefix}*`)
        await client.close()
        assert.isAtLeast(keys.length, 9, "each sign-up's session is in Redis")
        assert.strictEqual(await sessionRows(), 0, "no session in Postgres")
      } else {
        assert.strictEqual(await sessionRows(), 9)
      }

      const ended: Array<Ended> = []
      const refused = (caller: Caller, kind: "cookie" | "token", startedAt: number) =>
        ended.some((e) => e.email === caller.email && (e.credential === "both" || e.credential === kind) && e.at <= startedAt)
      const call = (caller: Caller, kind: "cookie" | "token", instance: number) =>
        fetch(`${origin(instance)}/api/me`, {
          headers: kind === "cookie" ? { cookie: caller.cookie } : { authorization: `Bearer ${caller.token}` }
        })

      const counts = { requests: 0, errors: 0, wrong: [] as Array<string> }
      const offsets = logOffsets()
      const rollbacks = async () => {
        const admin = new pg.Client({ connectionString: serverUrl })
        await admin.connect()
        try {
          return Number((await admin.query<{ n: string }>("select xact_rollback::text as n from pg_stat_database where datname = $1", [database])).rows[0]!.n)
        } finally {
          await admin.end()
        }
      }
      const rollbacksBefore = await rollbacks()
      const loadFrom = Date.now()
      const deadline = loadFrom + LOAD_MS
      let changed = 0
      // The load lasts LOAD_MS, and longer when the changes and their checks need it: they run under load.
      let loadOver = false
      const worker = async (w: number) => {
        for (let n = 0; !loadOver; n++) {
          const caller = callers[(w + n) % callers.length]!
          const kind = (w + n) % 2 === 0 ? "cookie" : "token"
          const startedAt = Date.now()
          let status: number
          let body: { id?: string } = {}
          try {
            const response = await call(caller, kind, w + n)
            status = response.status
            body = (await response.json().catch(() => ({}))) as { id?: string }
          } catch {
            counts.errors++
            continue
          }
          counts.requests++
          const mustRefuse = refused(caller, kind, startedAt)
          const mayRefuse = ended.some((e) => e.email === caller.email && (e.credential === "both" || e.credential === kind))
          if (status === 200 && body.id !== caller.id) counts.wrong.push(`${caller.email} ${kind}: answered as ${body.id}`)
          else if (status === 200 && mustRefuse) counts.wrong.push(`${caller.email} ${kind}: 200 after it ended`)
          else if (status === 401 && !mayRefuse) counts.wrong.push(`${caller.email} ${kind}: 401 while live`)
          else if (status !== 200 && status !== 401) counts.errors++
        }
      }
      /** Each change and whether it was refused at every instance, for the printout. */
      const refusals: Array<string> = []
      const changes = (async () => {
        await new Promise((r) => setTimeout(r, LOAD_MS / 4))
        const memoryEarly = new Map((await bouncer.serverPids(database)).map((pid) => [pid, privateKb(pid)]))
        // Each change, then every instance at once: the next request started after it is visible is refused.
        const change = async (email: string, credential: Ended["credential"], run: () => Promise<void>) => {
          const ending: Ended = { email, credential, at: Number.POSITIVE_INFINITY }
          ended.push(ending)
          await run()
          ending.at = Date.now()
        }
        await change(callers[0]!.email, "both", async () => {
          const deactivate = await cli("users", "deactivate", callers[0]!.email)
          assert.strictEqual(deactivate.code, 0, deactivate.stderr)
        })
        await change(callers[1]!.email, "token", async () => {
          const revoke = await cli("tokens", "revoke", callers[1]!.tokenId)
          assert.strictEqual(revoke.code, 0, revoke.stderr)
        })
        await change(callers[2]!.email, "cookie", async () => {
          const signOut = await fetch(`${origin(1)}/api/auth/sign-out`, { method: "POST", headers: { cookie: callers[2]!.cookie, origin: origin(1) } })
          assert.strictEqual(signOut.status, 200)
        })
        // The site admin signs in on one instance and bans a user there, through Better Auth's admin plugin.
        const signIn = await fetch(`${origin(2)}/api/auth/sign-in/email`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: origin(2) },
          body: JSON.stringify({ email: siteAdmin.email, password: PASSWORD })
        })
        assert.strictEqual(signIn.status, 200, await signIn.clone().text())
        const adminCookie = signIn.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
        await change(callers[3]!.email, "both", async () => {
          const ban = await fetch(`${origin(2)}/api/auth/admin/ban-user`, {
            method: "POST",
            headers: { "content-type": "application/json", cookie: adminCookie, origin: origin(2) },
            body: JSON.stringify({ userId: callers[3]!.id, banReason: "pooler test" })
          })
          assert.strictEqual(ban.status, 200, await ban.clone().text())
        })
        const expect = async (caller: Caller, kind: "cookie" | "token", status: number, what: string) => {
          for (let i = 0; i < INSTANCES; i++) assert.strictEqual((await call(caller, kind, i)).status, status, `${what} at instance ${i}`)
          refusals.push(`${what}: ${status} at all ${INSTANCES}`)
        }
        await expect(callers[0]!, "cookie", 401, "deactivated user's cookie")
        await expect(callers[0]!, "token", 401, "deactivated user's token")
        await expect(callers[1]!, "token", 401, "revoked token")
        await expect(callers[1]!, "cookie", 200, "revoked token's owner's cookie")
        await expect(callers[2]!, "cookie", 401, "signed-out cookie")
        await expect(callers[2]!, "token", 200, "signed-out user's token")
        await expect(callers[3]!, "cookie", 401, "banned user's cookie")
        await expect(callers[3]!, "token", 401, "banned user's token")
        changed = Date.now()
        await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() - 500)))
        const memoryLate = new Map([...memoryEarly.keys()].flatMap((pid) => existsSync(`/proc/${pid}`) ? [[pid, privateKb(pid)] as const] : []))
        await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))
        return { memoryEarly, memoryLate }
      })().finally(() => {
        loadOver = true
      })
      const [, memory] = await Promise.all([Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w))), changes])
      const loadEnd = Date.now()

      const logErrors = logSince(offsets, database).filter((line) => /ERROR|FATAL/.test(line))
      const failed = await rollbacks() - rollbacksBefore
      console.log(
        [
          `behind PgBouncer, ${redis ? "sessions in Redis" : "sessions in Postgres"}: ${counts.requests} requests by ${INSTANCES} instances at c=${CONCURRENCY} in ${((loadEnd - loadFrom) / 1000).toFixed(1)} s, ${counts.errors} errors, ${counts.wrong.length} wrong`,
          `  Postgres: ${logErrors.length} log errors${existsSync(POSTGRES_LOG) ? "" : " (log not readable here)"}, ${failed} rolled-back transactions`,
          `  server connections' private memory (kB) ${JSON.stringify([...memory.memoryEarly])} → ${JSON.stringify([...memory.memoryLate])}`,
          ...refusals.map((r) => `  ${r}`),
          `  ${((Date.now() - began) / 1000).toFixed(1)} s for the test body (${((setUp - began) / 1000).toFixed(1)} s to set up the callers; the changes and their checks done ${((changed - loadFrom) / 1000).toFixed(1)} s into the load)`
        ].join("\n")
      )
      assert.isAbove(counts.requests, 1_000)
      assert.strictEqual(counts.errors, 0)
      assert.deepStrictEqual(counts.wrong, [])
      assert.strictEqual(failed, 0, "no statement failed in Postgres")
      assert.deepStrictEqual(logErrors, [])
      assert.isNotEmpty(memory.memoryLate)
      for (const [pid, late] of memory.memoryLate) assert.isBelow(late - memory.memoryEarly.get(pid)!, 2_048, `server connection ${pid} grew`)
    }, 240_000)
  })
})
