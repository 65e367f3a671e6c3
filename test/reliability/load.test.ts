/**
 * Sustained load on `/api/me` over HTTP on loopback (autocannon): one app process on the
 * test's own Postgres server, four users, each calling with a token and with a cookie, mixed
 * on every connection. Zero errors, zero refusals, every answer the right user by the right
 * credential; p50/p99 and throughput reported; the server's memory stable from a sixth of the
 * run (the 10th second of a 60 s run) to its end: resident memory (sampled every 0.5 s) and
 * the heap in use after a full GC (the server runs with --expose-gc; two probes only).
 *
 * The measured run follows a warm-up at the same load (JIT, pools, V8's heap sizing), so the
 * window shows steady state. In the normal suite it runs for LOAD_SECONDS=8 after 3 s of
 * warm-up; `npm run test:load` runs 60 s after 30 s.
 */
import { assert, describe, it } from "@effect/vitest"
import autocannon from "autocannon"
import { afterAll, beforeAll } from "vitest"
import { record, round } from "./support/figures.ts"
import { canRunPostgres, type PostgresServer, startPostgres } from "./support/postgres-server.ts"
import { type AppProcess, createTokens, now, rssMB, signUp, startApp } from "./support/processes.ts"
import { sleep } from "./support/traffic.ts"

const SECONDS = Math.max(5, Math.min(600, Number(process.env.LOAD_SECONDS ?? 8)))
const WARMUP_SECONDS = SECONDS >= 60 ? 30 : 3
const CONNECTIONS = 10
const USERS = 4
/** Memory is judged from here on: the 10th second of a 60 s run. */
const WINDOW_FROM = SECONDS / 6
/**
 * Allowed resident-memory growth across the window: the larger of these. The short form's
 * 3 s warm-up leaves V8 still sizing its heap (RSS steps up by tens of MB, then stays), so
 * there the bound only catches a gross leak; the heap-after-GC bound is the fine one.
 */
const RSS_GROWTH_MB = SECONDS >= 60 ? 48 : 128
const RSS_GROWTH_FRACTION = 0.15
/** Allowed growth of the heap in use after a full GC across the window. */
const HEAP_GROWTH_MB = 10

describe.skipIf(!canRunPostgres)(`load on /api/me for ${SECONDS} s (throwaway Postgres server; needs Postgres binaries, skipped without them unless CI=true)`, () => {
  let server: PostgresServer
  let app: AppProcess
  const users: Array<{ id: string; email: string; cookie: string; token: string }> = []

  beforeAll(async () => {
    server = await startPostgres()
    await server.createDatabase("app")
    const databaseUrl = server.url("app")
    app = await startApp({ databaseUrl, instance: "load", migrate: true, env: { RELIABILITY_DEBUG: "1", NODE_OPTIONS: "--expose-gc" } })
    for (let i = 0; i < USERS; i++) {
      const email = `load${i}@example.com`
      const { userId, cookie } = await signUp(app.url, email)
      users.push({ id: userId, email, cookie, token: "" })
    }
    const tokens = await Promise.all(users.map((user) => createTokens(databaseUrl, user.id, ["load"])))
    tokens.forEach(([made], i) => (users[i]!.token = made!.token))
  })

  afterAll(async () => {
    await app?.stop()
    await server?.destroy()
  })

  it(`${CONNECTIONS} connections, tokens and cookies mixed: zero errors, p50/p99 and throughput, flat memory`, async () => {
    let wrong = 0
    const requests = users.flatMap((user) =>
      (["token", "cookie"] as const).map((via) => ({
        method: "GET",
        path: "/api/me",
        headers: via === "token" ? { authorization: `Bearer ${user.token}` } : { cookie: user.cookie },
        onResponse: (status: number, body: string) => {
          if (status !== 200) return
          try {
            const json = JSON.parse(body) as { id?: string; via?: string }
            if (json.id !== user.id || json.via !== via) wrong++
          } catch {
            wrong++
          }
        }
      }))
    )

    const warmup = await autocannon({ url: app.url, connections: CONNECTIONS, duration: WARMUP_SECONDS, requests })
    assert.strictEqual(warmup.errors + warmup.non2xx, 0, "errors during the warm-up")

    /** Heap in use right after a full GC, in MB. */
    const heapAfterGc = async () => ((await (await fetch(`${app.url}/debug/memory`)).json()) as { heapUsed: number }).heapUsed / 2 ** 20

    const memory: Array<{ second: number; rssMB: number }> = []
    const started = now()
    const second = () => (now() - started) / 1000
    const sampler = setInterval(() => memory.push({ second: second(), rssMB: rssMB(app.pid) }), 500)
    const heapProbe = sleep(WINDOW_FROM * 1000).then(heapAfterGc)
    let result
    try {
      result = await autocannon({ url: app.url, connections: CONNECTIONS, duration: SECONDS, timeout: 10, requests })
    } finally {
      clearInterval(sampler)
    }
    const heapAtStart = await heapProbe
    const heapAtEnd = await heapAfterGc()

    assert.isTrue(app.alive(), "the app process died")
    assert.strictEqual(result.errors, 0, "connection errors")
    assert.strictEqual(result.timeouts, 0, "timeouts")
    assert.strictEqual(result.non2xx, 0, `non-2xx answers: ${JSON.stringify(result.statusCodeStats)}`)
    assert.strictEqual(wrong, 0, "answers naming the wrong user or credential")
    assert.isAbove(result["2xx"], 0)

    const mean = (xs: ReadonlyArray<{ rssMB: number }>) => xs.reduce((n, x) => n + x.rssMB, 0) / xs.length
    const head = memory.filter((m) => m.second >= WINDOW_FROM - 2 && m.second <= WINDOW_FROM)
    const window = memory.filter((m) => m.second >= WINDOW_FROM)
    const tail = memory.filter((m) => m.second >= SECONDS - 2)
    assert.isAtLeast(head.length, 1, "no memory sample at the window's start")
    assert.isAtLeast(tail.length, 1, "no memory sample at the end")
    const atStart = mean(head)
    const atEnd = mean(tail)
    const peak = Math.max(...window.map((m) => m.rssMB))
    const allowed = Math.max(RSS_GROWTH_MB, atStart * RSS_GROWTH_FRACTION)
    assert.isAtMost(atEnd - atStart, allowed, `RSS grew from ${atStart.toFixed(1)} MB to ${atEnd.toFixed(1)} MB`)
    assert.isAtMost(peak - atStart, allowed, `RSS peaked at ${peak.toFixed(1)} MB from ${atStart.toFixed(1)} MB`)
    assert.isAtMost(heapAtEnd - heapAtStart, HEAP_GROWTH_MB, `heap after GC grew from ${heapAtStart.toFixed(1)} MB to ${heapAtEnd.toFixed(1)} MB`)

    record(`load-${SECONDS}s`, {
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
      connections: CONNECTIONS,
      mix: `${USERS} users × (token, cookie), cookie cache off`,
      requests: result["2xx"] + result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
      wrongAnswers: wrong,
      requestsPerSecond: round(result.requests.average, 0),
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      rssWindow: `${round(WINDOW_FROM)}–${SECONDS} s`,
      rssStartMB: round(atStart),
      rssEndMB: round(atEnd),
      rssPeakMB: round(peak),
      rssMinMB: round(Math.min(...window.map((m) => m.rssMB))),
      rssGrowthMB: round(atEnd - atStart),
      rssAllowedGrowthMB: round(allowed),
      heapAfterGcStartMB: round(heapAtStart),
      heapAfterGcEndMB: round(heapAtEnd),
      rssEverySecond: memory.filter((_, i) => i % 2 === 1).map((m) => round(m.rssMB, 0))
    })
  }, (SECONDS + WARMUP_SECONDS + 60) * 1000)
})
