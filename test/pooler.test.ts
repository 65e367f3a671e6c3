/**
 * Many instances on one Postgres, through a real PgBouncer in transaction pooling with 4
 * server connections: four instances of the example app's production build, each told
 * `?pooler=transaction&connection_limit=4` in its `DATABASE_URL`, under mixed cookie and token
 * load at 64 concurrent requests. Meanwhile the CLI deactivates a user and revokes a token and
 * the app signs a user out; each is refused by every instance on the next request that starts
 * after it is visible. Postgres logs no error for the database, and PgBouncer's server
 * connections keep their memory flat (no named statements pile up on them).
 *
 * Postgres only (`DATABASE_URL`), with Debian's `pgbouncer` installed (`.ci/run` does).
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

const serverUrl = process.env.DATABASE_URL
const INSTANCES = 4
const CONCURRENCY = 64
const LOAD_MS = Number(process.env.POOLER_LOAD_MS ?? 15_000)
const POSTGRES_LOG = "/var/log/postgresql"

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

describe.runIf(serverUrl)("four instances behind PgBouncer (transaction pooling, 4 server connections)", () => {
  const database = `fusion_pooler_${process.pid}_${randomBytes(3).toString("hex")}`
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
    const through = new URL(bouncer.url(direct))
    through.searchParams.set("pooler", "transaction")
    through.searchParams.set("connection_limit", "4")
    pooled = through.toString()
    await buildExample()
    const secret = randomBytes(32).toString("base64url")
    const start = async () => {
      const port = await freePort()
      const origin = `http://127.0.0.1:${port}`
      const app = await startExample({ PORT: String(port), BETTER_AUTH_URL: origin, BETTER_AUTH_SECRET: secret, DATABASE_URL: pooled })
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
  }, 120_000)

  it("answers every request rightly under load, refuses each change at every instance on the next request, and Postgres logs no error", async () => {
    const cli = (...args: Array<string>) => fusionAuth(["--json", ...args], { env: { DATABASE_URL: pooled } })
    const origin = (i: number) => instances[i % INSTANCES]!.origin
    const callers: Array<Caller> = []
    for (let i = 0; i < 8; i++) {
      const email = `load.${i}.${Date.now()}@example.com`
      const response = await fetch(`${origin(i)}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: origin(i) },
        body: JSON.stringify({ email, password: "correct horse battery", name: `Load ${i}` })
      })
      assert.strictEqual(response.status, 200, await response.clone().text())
      const body = (await response.json()) as { user: { id: string } }
      const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
      const created = await cli("tokens", "create", "--user", email, "--name", "load")
      assert.strictEqual(created.code, 0, created.stderr)
      const { token, id: tokenId } = JSON.parse(created.stdout) as { token: string; id: string }
      callers.push({ email, id: body.user.id, cookie, token, tokenId })
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
    const deadline = Date.now() + LOAD_MS
    const worker = async (w: number) => {
      for (let n = 0; Date.now() < deadline; n++) {
        const caller = callers[(w + n) % callers.length]!
        const kind = (w + n) % 2 === 0 ? "cookie" : "token"
        const startedAt = Date.now()
        let status: number
        let body: { id?: string } = {}
        try {
          const response = await call(caller, kind, w + n)
          status = response.status
          body = (await response.json().catch(() => ({}))) as { id?: string }
        } catch (error) {
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
      for (let i = 0; i < INSTANCES; i++) {
        assert.strictEqual((await call(callers[0]!, "cookie", i)).status, 401, `deactivated cookie at instance ${i}`)
        assert.strictEqual((await call(callers[0]!, "token", i)).status, 401, `deactivated token at instance ${i}`)
        assert.strictEqual((await call(callers[1]!, "token", i)).status, 401, `revoked token at instance ${i}`)
        assert.strictEqual((await call(callers[1]!, "cookie", i)).status, 200, `revoked token's owner's cookie at instance ${i}`)
        assert.strictEqual((await call(callers[2]!, "cookie", i)).status, 401, `signed-out cookie at instance ${i}`)
        assert.strictEqual((await call(callers[2]!, "token", i)).status, 200, `signed-out user's token at instance ${i}`)
      }
      await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now() - 500)))
      return { memoryEarly, memoryLate: new Map([...memoryEarly.keys()].flatMap((pid) => existsSync(`/proc/${pid}`) ? [[pid, privateKb(pid)] as const] : [])) }
    })()
    const [, memory] = await Promise.all([Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w))), changes])

    console.log(`behind PgBouncer: ${counts.requests} requests by ${INSTANCES} instances at c=${CONCURRENCY}, ${counts.errors} errors, ${counts.wrong.length} wrong; server connections' private memory (kB) ${JSON.stringify([...memory.memoryEarly])} → ${JSON.stringify([...memory.memoryLate])}`)
    assert.isAbove(counts.requests, 1_000)
    assert.strictEqual(counts.errors, 0)
    assert.deepStrictEqual(counts.wrong, [])
    assert.strictEqual(await rollbacks() - rollbacksBefore, 0, "no statement failed in Postgres")
    assert.deepStrictEqual(logSince(offsets, database).filter((line) => /ERROR|FATAL/.test(line)), [])
    assert.isNotEmpty(memory.memoryLate)
    for (const [pid, late] of memory.memoryLate) assert.isBelow(late - memory.memoryEarly.get(pid)!, 2_048, `server connection ${pid} grew`)
  }, 240_000)
})
