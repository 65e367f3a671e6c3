/**
 * What the operator sees, read after a known sequence of requests through the real runtime
 * (real Better Auth, PGlite): every metric of core/Metrics.ts counted exactly, the span absent
 * by default and present with `spans: true`, and no attribute carrying a token or a cookie.
 * Then the `lastUsedAt` backlog with 10^5 distinct tokens: bounded, and every note written.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Exit, Layer, ManagedRuntime, Metric, Redacted, Tracer } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as ApiToken from "../src/core/ApiToken.ts"
import * as Metrics from "../src/core/Metrics.ts"
import * as TokenPolicy from "../src/core/TokenPolicy.ts"
import { authLayer, SessionResolver } from "../src/effect.ts"
import { createAuthSession } from "../src/index.ts"
import { LastUsed, make as makeLastUsed } from "../src/services/LastUsed.ts"
import { makeAuth, migrate, signUp, type TestAuth } from "./support/auth.ts"
import { pglite, type TestDatabase } from "./support/databases.ts"

/** Every series of fusion-auth's metrics now (Effect's default registry, the one the runtime records in). */
const series = () => Effect.runSync(Metric.snapshot).filter((s) => s.id.startsWith("fusion_auth_"))
const label = (attributes: Readonly<Record<string, string>> | undefined) =>
  Object.entries(attributes ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(",")

/** Each counter's count and each histogram's count and sum, by `id{attributes}`. */
const read = () => {
  const values = new Map<string, number>()
  for (const s of series()) {
    const key = `${s.id}{${label(s.attributes)}}`
    if (s.type === "Counter") values.set(key, Number(s.state.count))
    if (s.type === "Histogram") {
      values.set(`${key}.count`, s.state.count)
      values.set(`${key}.sum`, s.state.sum)
    }
    if (s.type === "Gauge") values.set(key, Number(s.state.value))
  }
  return values
}
/** What changed between two reads (gauges: their value in the second). */
const delta = (before: Map<string, number>, after: Map<string, number>) =>
  Object.fromEntries([...after].filter(([key, value]) => value !== (before.get(key) ?? 0) && !key.startsWith(Metrics.LAST_USED_PENDING)).map(([key, value]) => [key, value - (before.get(key) ?? 0)]))

/** The backlog gauge, as read in the current context's registry. */
const backlogIn = Effect.map(Metric.snapshot, (all) => {
  const gauge = all.find((s) => s.id === Metrics.LAST_USED_PENDING)
  return gauge?.type === "Gauge" ? Number(gauge.state.value) : -1
})
const backlog = () => Effect.runSync(backlogIn)

/** Every span the runtime starts, kept for the test to read. */
const recordingTracer = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      spans.push(span)
      return span
    }
  })
  return { spans, telemetry: Layer.succeed(Tracer.Tracer, tracer) }
}

const bearer = (token: string | Redacted.Redacted<string>) =>
  new Headers({ authorization: `Bearer ${Redacted.isRedacted(token) ? Redacted.value(token) : token}` })
let emails = 0
const email = () => `metrics${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

describe("metrics and the span, through the runtime on pglite", () => {
  let db: TestDatabase
  let setup: ReturnType<typeof makeAuth>
  const closing: Array<() => Promise<void>> = []
  /** Every secret a request of these tests presented: none may appear in a metric or a span. */
  const secrets: Array<string> = []

  const app = (options: Parameters<typeof createAuthSession<TestAuth>>[1] = {}) => {
    const made = createAuthSession(setup.auth, { database: { url: db.url }, ...options })
    closing.push(made.dispose)
    return made
  }
  const user = async (app: ReturnType<typeof createAuthSession<TestAuth>>) => {
    const { userId, cookie } = await signUp(setup.auth, email())
    const { token } = await app.tokens.create({ userId, name: "ci" })
    const [sessionToken, signature] = decodeURIComponent(cookie.match(/session_token=([^;]+)/)![1]!).split(".")
    secrets.push(sessionToken!, signature!, Redacted.value(token))
    return { userId, cookie, token }
  }

  beforeAll(async () => {
    db = await pglite.make()
    setup = makeAuth(db.url)
    await migrate(setup.auth, { url: db.url })
  })
  afterAll(async () => {
    for (const close of closing.reverse()) await close()
    await setup.pool.end()
    await db.close()
  })

  it("counts each resolution by credential and outcome, times it, counts hand-overs and statements, and reports the backlog", async () => {
    const { spans, telemetry } = recordingTracer()
    const fusion = app({ telemetry })
    const a = await user(fusion)
    const b = await user(fusion)
    const c = await user(fusion)
    const second = await fusion.tokens.create({ userId: a.userId, name: "second" })
    const revoked = await fusion.tokens.create({ userId: a.userId, name: "revoked" })
    const expired = await fusion.tokens.create({ userId: a.userId, name: "expired" })
    secrets.push(...[second, revoked, expired].map((t) => Redacted.value(t.token)))
    await fusion.tokens.revokeById(revoked.info.id)
    await setup.pool.query(`update "apiToken" set "expiresAt" = now() - interval '1 minute' where "id" = $1`, [expired.info.id])
    // c's session is due for refresh: the native statement reads it, then Better Auth answers.
    const cToken = decodeURIComponent(c.cookie.match(/session_token=([^;]+)/)![1]!).split(".")[0]
    await setup.pool.query(`update "session" set "expiresAt" = $1 where "token" = $2`, [new Date(Date.now() + 6 * 86400_000 - 1000), cToken])
    await fusion.users.deactivate(b.userId)
    const unknown = ApiToken.generate()
    secrets.push(Redacted.value(unknown))

    await fusion.getSession(new Headers()) // the runtime is built before the sequence
    const before = read()
    const expect = async (headers: Headers, outcome: "session" | "null") =>
      assert.strictEqual((await fusion.getSession(headers)) === null ? "null" : "session", outcome)
    await expect(new Headers({ cookie: a.cookie }), "session")
    await expect(new Headers({ cookie: a.cookie }), "session")
    await expect(new Headers({ cookie: c.cookie }), "session") // handed over: refresh due
    await expect(new Headers(), "null")
    await expect(new Headers({ cookie: "better-auth.session_token=forged.c2lnbmF0dXJl" }), "null")
    await expect(new Headers({ cookie: b.cookie }), "null") // deactivated
    await expect(bearer(a.token), "session")
    await expect(bearer(a.token), "session")
    await expect(bearer(second.token), "session")
    await expect(bearer(b.token), "null") // deactivated
    await expect(bearer("sk_live_short"), "null") // malformed
    await expect(bearer(unknown), "null")
    await expect(bearer(revoked.token), "null")
    await expect(bearer(expired.token), "null")
    await expect(bearer("aSessionTokenValue"), "null") // a session token as Bearer, without bearer(): malformed
    const sequential = delta(before, read())

    const resolutions = (credential: string, outcome: string, reason?: string) =>
      `${Metrics.RESOLUTIONS}{credential=${credential},outcome=${outcome}${reason === undefined ? "" : `,reason=${reason}`}}`
    const duration = (credential: string) => `${Metrics.RESOLUTION_DURATION}{credential=${credential}}`
    const keys = (table: string) => `${Metrics.STATEMENT_KEYS}{table=${table}}`
    assert.deepStrictEqual(
      Object.fromEntries(Object.entries(sequential).filter(([key]) => !key.endsWith(".sum") || key.startsWith(Metrics.STATEMENT_KEYS))),
      {
        [resolutions("cookie", "success")]: 3,
        [resolutions("cookie", "Anonymous")]: 2,
        [resolutions("cookie", "Deactivated", "deactivated")]: 1,
        [resolutions("token", "success")]: 3,
        [resolutions("token", "Deactivated", "deactivated")]: 1,
        [resolutions("token", "InvalidToken", "malformed")]: 1,
        [resolutions("token", "InvalidToken", "unknown")]: 1,
        [resolutions("token", "InvalidToken", "revoked")]: 1,
        [resolutions("token", "InvalidToken", "expired")]: 1,
        [resolutions("session-bearer", "InvalidToken", "malformed")]: 1,
        // Timed: every resolution that did I/O (a malformed credential is answered with none, and only counted).
        [`${duration("cookie")}.count`]: 6,
        [`${duration("token")}.count`]: 7,
        [`${Metrics.HAND_OVERS}{reason=refresh-due}`]: 1,
        // One statement per lookup that reached the database, each alone: a, a, c, b's cookies; 7 tokens.
        [`${keys("session")}.count`]: 4,
        [`${keys("session")}.sum`]: 4,
        [`${keys("token")}.count`]: 7,
        [`${keys("token")}.sum`]: 7
      }
    )
    for (const kind of ["cookie", "token"]) assert.isAbove(sequential[`${duration(kind)}.sum`]!, 0)

    // The two tokens verified (a's and the second) wait to be written; a refused one is not a use.
    assert.strictEqual(backlog(), 2)
    // 32 distinct tokens at once: fewer statements than lookups, every key counted once.
    const more = await Promise.all(Array.from({ length: 32 }, () => fusion.tokens.create({ userId: a.userId, name: "burst" })))
    secrets.push(...more.map((t) => Redacted.value(t.token)))
    const burst = read()
    const answers = await Promise.all(more.map((t) => fusion.getSession(bearer(t.token))))
    assert.isTrue(answers.every((s) => s !== null))
    const batched = delta(burst, read())
    assert.strictEqual(batched[`${keys("token")}.sum`], 32)
    assert.isBelow(batched[`${keys("token")}.count`]!, 32)
    assert.strictEqual(batched[resolutions("token", "success")], 32)
    assert.strictEqual(batched[`${duration("token")}.count`], 32)
    assert.strictEqual(backlog(), 34)
    await fusion.run(LastUsed.use((lastUsed) => lastUsed.flush))
    assert.strictEqual(backlog(), 0)

    assert.isFalse(spans.some((span) => span.name === Metrics.SPAN), "no resolution span by default")
    const words = new Set(["cookie", "token", "session-bearer", "session", "success", "failure", "Anonymous", "Deactivated", "InvalidToken",
      "deactivated", "banned", "malformed", "unknown", "revoked", "expired", "removed", "disabled", "unsupported", "differs", "schema-pending", "refresh-due"])
    for (const s of series()) {
      for (const [key, value] of Object.entries(s.attributes ?? {})) {
        assert.include(["credential", "outcome", "reason", "table"], key)
        assert.isTrue(words.has(value), `${s.id} ${key}=${value}`)
      }
    }
  }, 60_000)

  it("with spans: one span per resolution, carrying the credential kind, outcome, reason and user id, and no secret", async () => {
    const { spans, telemetry } = recordingTracer()
    const fusion = app({ spans: true, telemetry })
    const a = await user(fusion)
    const b = await user(fusion)
    await fusion.users.deactivate(b.userId)
    spans.length = 0
    assert.isNotNull(await fusion.getSession(new Headers({ cookie: a.cookie })))
    assert.isNotNull(await fusion.getSession(bearer(a.token)))
    assert.isNull(await fusion.getSession(bearer(b.token)))
    assert.isNull(await fusion.getSession(bearer("sk_live_short")))
    assert.instanceOf(await fusion.requireSession(new Headers()).then(() => undefined, (thrown: unknown) => thrown), Response)
    const resolved = spans.filter((span) => span.name === Metrics.SPAN)
    assert.deepStrictEqual(resolved.map((span) => Object.fromEntries(span.attributes)), [
      { "fusion_auth.credential": "cookie", "fusion_auth.outcome": "success", "user.id": a.userId },
      { "fusion_auth.credential": "token", "fusion_auth.outcome": "success", "user.id": a.userId },
      { "fusion_auth.credential": "token", "fusion_auth.outcome": "Deactivated", "fusion_auth.reason": "deactivated", "user.id": b.userId },
      { "fusion_auth.credential": "token", "fusion_auth.outcome": "InvalidToken", "fusion_auth.reason": "malformed" },
      { "fusion_auth.credential": "cookie", "fusion_auth.outcome": "Anonymous" }
    ])
    // Each an answer, not an error: the span ends OK.
    assert.isTrue(resolved.every((span) => span.status._tag === "Ended" && span.status.exit._tag === "Success"))
    const text = JSON.stringify(spans.map((span) => [span.name, [...span.attributes], span.events]))
    for (const secret of secrets) assert.notInclude(text, secret)
    const metrics = JSON.stringify(series())
    for (const secret of secrets) assert.notInclude(metrics, secret)
  }, 60_000)

  it("authLayer takes the same options: spans in an Effect program's runtime, and every cookie handed over counted as disabled", async () => {
    const { spans, telemetry } = recordingTracer()
    const fusion = app()
    const a = await user(fusion)
    const runtime = ManagedRuntime.make(authLayer(setup.auth, { database: { url: db.url }, nativeCookie: false, spans: true }).pipe(Layer.provideMerge(telemetry)))
    closing.push(() => runtime.dispose())
    const resolve = (headers: Headers) => runtime.runPromiseExit(SessionResolver.use((resolver) => resolver.resolve(headers)))
    await resolve(new Headers()) // built
    const before = read()
    assert.isTrue(Exit.isSuccess(await resolve(new Headers({ cookie: a.cookie }))))
    assert.isTrue(Exit.isSuccess(await resolve(bearer(a.token))))
    const changes = delta(before, read())
    assert.strictEqual(changes[`${Metrics.HAND_OVERS}{reason=disabled}`], 1)
    assert.strictEqual(changes[`${Metrics.RESOLUTIONS}{credential=cookie,outcome=success}`], 1)
    assert.strictEqual(changes[`${Metrics.RESOLUTIONS}{credential=token,outcome=success}`], 1)
    assert.deepStrictEqual(
      spans.filter((span) => span.name === Metrics.SPAN).map((span) => span.attributes.get("fusion_auth.outcome")),
      ["Anonymous", "success", "success"]
    )
  }, 60_000)

  it("with metrics: false, nothing is recorded", async () => {
    const fusion = app({ metrics: false })
    const a = await user(fusion)
    const before = read()
    assert.isNotNull(await fusion.getSession(new Headers({ cookie: a.cookie })))
    assert.isNotNull(await fusion.getSession(bearer(a.token)))
    assert.isNull(await fusion.getSession(bearer("sk_live_short")))
    assert.deepStrictEqual(delta(before, read()), {})
  }, 60_000)
})

describe("the lastUsedAt backlog", () => {
  it.effect("10^5 distinct tokens in use: the backlog stays bounded and every note is written", () =>
    Effect.gen(function*() {
      const written = new Set<string>()
      let largest = 0
      let writes = 0
      const lastUsed = yield* makeLastUsed((ids) =>
        Effect.sync(() => {
          writes++
          largest = Math.max(largest, ids.length)
          for (const id of ids) written.add(id)
          return []
        })
      )
      let peak = 0
      for (let i = 0; i < 100_000; i++) {
        yield* lastUsed.touch(`token-${i}`, null, yield* Clock.currentTimeMillis)
        if (i % 100 === 0) peak = Math.max(peak, yield* backlogIn)
      }
      yield* lastUsed.flush
      assert.strictEqual(written.size, 100_000, "every note written")
      assert.strictEqual(yield* backlogIn, 0)
      assert.isAbove(peak, 0, "the gauge read the backlog")
      // MAX_PENDING (10,000) starts one early flush; the notes that come before it runs (here, until the
      // touching fiber yields: at most every 2,048 operations, Effect's MaxOpsBeforeYield, each note at least one) join it.
      const bound = 10_000 + 2_048
      assert.isAtMost(peak, bound, `backlog peaked at ${peak}`)
      assert.isAtMost(largest, bound, `a flush wrote ${largest}`)
      assert.isAtMost(writes, 11, `${writes} writes`)
    }).pipe(Effect.scoped, Effect.provide(TokenPolicy.layer({ lastUsedInterval: "1 minute" }))), 60_000)
})
