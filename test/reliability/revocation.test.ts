/**
 * Revocation across instances: two app processes on one Postgres (the test's own throwaway
 * server) serve one user's token and cookie under load; a third process, the `fusion-auth`
 * CLI, revokes the token and then deactivates the user.
 *
 * Every request that started after the change was visible must be refused, on both instances:
 * zero successes; every request that ended before it began must have succeeded. Visible means
 * seen by a reader of the test's own, polling while the change is made (see `visibleDuring`):
 * one clock, the test's, for every time compared. Run with Better Auth's cookie cache off and
 * on (on: Better Auth would answer the cookie from its signed cache; fusion-auth never lets it).
 *
 * Sessions that end: five sessions of one user, each a browser sending its `session_token` and
 * (cache on) its `session_data` cookie, ended one after the other — signed out (Better Auth's
 * sign-out on instance b), revoked (`revoke-session` from a sixth session, on instance a), the
 * row deleted (SQL, as an operator would), `expiresAt` moved to the past (SQL), and all the
 * user's sessions revoked (`revoke-sessions`). Zero successes after each end is visible, on both
 * instances, with the cookie cache off and on (maxAge 300 s: a cached `session_data` must not
 * keep an ended session alive).
 */
import { assert, describe, it } from "@effect/vitest"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { percentile, record, round } from "./support/figures.ts"
import { canRunPostgres, type PostgresServer, startPostgres } from "./support/postgres-server.ts"
import { type AppProcess, cli, createTokens, now, sessionTokenOf, signIn, signUp, startApp } from "./support/processes.ts"
import { type Sample, sleep, startTraffic, type Target, waitFor } from "./support/traffic.ts"

/** Requests per instance and credential that must start after a change for the count to mean something. */
const ENOUGH = 25

/**
 * Runs `act` while a reader of its own polls `changed` on `databaseUrl` as fast as it can:
 * when `act` began, and by when the change was visible to a new reader (the end of the first
 * poll that saw it, or the return of `act`, which answers after its commit, whichever came
 * first). The commit's own timestamp would not do: Postgres takes it before the commit is
 * flushed and shown to other sessions, so a request can start after it and still, rightly,
 * see the row as it was (0.2–4 ms later under this suite's load).
 */
const visibleDuring = async <A>(databaseUrl: string, changed: string, values: ReadonlyArray<unknown>, act: () => Promise<A>) => {
  const reader = new pg.Client({ connectionString: databaseUrl })
  await reader.connect()
  let visibleAt: number | undefined
  let stop = false
  const polling = (async () => {
    while (!stop && visibleAt === undefined) {
      const { rows } = await reader.query<{ done: boolean }>(changed, values as Array<unknown>)
      if (rows[0]?.done === true) visibleAt = now()
    }
  })()
  try {
    const started = now()
    const result = await act()
    const returned = now()
    await Promise.race([polling, sleep(10_000)])
    stop = true
    await polling
    assert.isDefined(visibleAt, "the change never became visible to a new reader")
    return { result, started, visible: Math.min(visibleAt!, returned) }
  } finally {
    stop = true
    await polling.catch(() => undefined)
    await reader.end()
  }
}

describe.skipIf(!canRunPostgres)("revocation across two app processes (throwaway Postgres server; needs Postgres binaries, skipped without them unless CI=true)", () => {
  let server: PostgresServer

  beforeAll(async () => {
    server = await startPostgres()
  })
  afterAll(() => server?.destroy())

  for (const cookieCache of [false, true]) {
    it(`cookie cache ${cookieCache ? "on" : "off"}: no request that starts after a revocation is visible succeeds, on either instance`, async () => {
      const database = `revocation_${cookieCache ? "cache_on" : "cache_off"}`
      await server.createDatabase(database)
      const databaseUrl = server.url(database)
      const apps: Array<AppProcess> = []
      try {
        apps.push(await startApp({ databaseUrl, instance: "a", cookieCache, migrate: true }))
        apps.push(await startApp({ databaseUrl, instance: "b", cookieCache }))
        const email = `revoked.${cookieCache ? "on" : "off"}@example.com`
        const { userId, cookie } = await signUp(apps[0]!.url, email)
        const [revoked, kept] = await createTokens(databaseUrl, userId, ["to-revoke", "kept"])
        assert.isDefined(revoked)
        assert.isDefined(kept)

        const credentials = {
          "revoked token": { authorization: `Bearer ${revoked.token}` },
          "other token": { authorization: `Bearer ${kept.token}` },
          cookie: { cookie }
        } as const
        const targets: Array<Target> = apps.flatMap((app) =>
          Object.entries(credentials).map(([name, headers]) => ({ name: `${app.instance}|${name}`, url: `${app.url}/api/me`, headers }))
        )
        const traffic = startTraffic({ targets, concurrency: 2, maxMillis: 60_000, maxRequests: 1_000_000 })
        let samples: ReadonlyArray<Sample> = traffic.samples
        const committedOnce = async (action: string, column: "tokenId" | "userId", id: string) => {
          const rows = await server.query(`select 1 from "fusionAuditEvent" where "action" = $1 and "${column}" = $2`, [action, id], database)
          assert.strictEqual(rows.length, 1, `one ${action} event`)
        }
        /** Keeps the load on for at least 1 s after `visible`, and until every target has enough requests after it. */
        const loadAfter = (visible: number, credentials: ReadonlyArray<string>) =>
          waitFor(() =>
            now() - visible > 1_000 &&
            targets.filter((t) => credentials.some((c) => t.name.endsWith(`|${c}`))).every((t) =>
              traffic.samples.filter((s) => s.target === t.name && s.start > visible).length >= ENOUGH
            ), 20_000, 100)
        let revoking, deactivating
        try {
          await sleep(1_500)
          revoking = await visibleDuring(databaseUrl, `select "revokedAt" is not null as done from "apiToken" where "id" = $1`, [revoked.id],
            () => cli(databaseUrl, ["tokens", "revoke", revoked.id]))
          assert.strictEqual(revoking.result.code, 0, revoking.result.stderr)
          await committedOnce("token.revoked", "tokenId", revoked.id)
          await loadAfter(revoking.visible, ["revoked token"])
          deactivating = await visibleDuring(databaseUrl, `select "deactivatedAt" is not null as done from "user" where "id" = $1`, [userId],
            () => cli(databaseUrl, ["users", "deactivate", email]))
          assert.strictEqual(deactivating.result.code, 0, deactivating.result.stderr)
          await committedOnce("user.deactivated", "userId", userId)
          await loadAfter(deactivating.visible, ["other token", "cookie"])
        } finally {
          samples = await traffic.stop()
        }

        const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 401)
        assert.strictEqual(unexpected.length, 0, `answers other than 200/401: ${unexpected.slice(0, 5).map((s) => `${s.target} ${s.status} ${s.error ?? ""}`).join("; ")}`)
        assert.isTrue(samples.every((s) => s.status !== 200 || s.userId === userId), "a 200 for another user")

        const figures: Record<string, unknown> = {}
        const check = (credential: keyof typeof credentials, change: { readonly started: number; readonly visible: number }, label: string) => {
          for (const app of apps) {
            const mine = samples.filter((s) => s.target === `${app.instance}|${credential}`)
            const after = mine.filter((s) => s.start > change.visible)
            const successesAfter = after.filter((s) => s.status === 200)
            assert.strictEqual(successesAfter.length, 0, `${app.instance} ${credential}: ${successesAfter.length} successes started after the ${label} was visible (first ${(successesAfter[0]?.start ?? 0) - change.visible} ms after)`)
            assert.isAtLeast(after.length, ENOUGH, `${app.instance} ${credential}: too few requests after the ${label} to judge`)
            const before = mine.filter((s) => s.end < change.started)
            assert.isAbove(before.length, 0)
            assert.isTrue(before.every((s) => s.status === 200), `${app.instance} ${credential}: refused before the ${label}`)
            const inFlight = mine.filter((s) => s.end >= change.started && s.start <= change.visible)
            figures[`${app.instance} ${credential}`] = {
              requests: mine.length,
              startedAfterVisible: after.length,
              successesAfterVisible: 0,
              duringChange: inFlight.length,
              duringChangeSucceeded: inFlight.filter((s) => s.status === 200).length
            }
          }
        }
        check("revoked token", revoking, "revoke")
        check("other token", deactivating, "deactivation")
        check("cookie", deactivating, "deactivation")
        // Between the two changes the revocation touched nothing else.
        for (const credential of ["other token", "cookie"] as const) {
          const between = samples.filter((s) => s.target.endsWith(`|${credential}`) && s.start > revoking.visible && s.end < deactivating.started)
          assert.isAbove(between.length, 0)
          assert.isTrue(between.every((s) => s.status === 200), `${credential} refused before the deactivation`)
        }
        const latencies = samples.map((s) => s.end - s.start)
        record(`revocation-cookie-cache-${cookieCache ? "on" : "off"}`, {
          instances: 2,
          cookieCache: cookieCache ? "on (maxAge 300 s)" : "off",
          requests: samples.length,
          successesAfterVisible: 0,
          revokeCliMs: round(revoking.result.ended - revoking.result.started),
          revokeVisibleAfterMs: round(revoking.visible - revoking.started),
          deactivateCliMs: round(deactivating.result.ended - deactivating.result.started),
          deactivateVisibleAfterMs: round(deactivating.visible - deactivating.started),
          p50Ms: round(percentile(latencies, 50), 2),
          p99Ms: round(percentile(latencies, 99), 2),
          ...figures
        })
      } finally {
        await Promise.all(apps.map((app) => app.stop()))
      }
    }, 120_000)
  }

  for (const cookieCache of [false, true]) {
    it(`cookie cache ${cookieCache ? "on" : "off"}: a session signed out, revoked, deleted or expired is refused on the next request, on both instances`, async () => {
      const database = `ended_sessions_${cookieCache ? "cache_on" : "cache_off"}`
      await server.createDatabase(database)
      const databaseUrl = server.url(database)
      const apps: Array<AppProcess> = []
      try {
        apps.push(await startApp({ databaseUrl, instance: "a", cookieCache, migrate: true }))
        apps.push(await startApp({ databaseUrl, instance: "b", cookieCache }))
        const [a, b] = apps as [AppProcess, AppProcess]
        const email = `ended.${cookieCache ? "on" : "off"}@example.com`
        const { userId, cookie: first } = await signUp(a.url, email)
        const endings = ["signed out", "revoked", "row deleted", "expired", "all revoked"] as const
        const cookies: Record<(typeof endings)[number], string> = {
          "signed out": first,
          revoked: await signIn(a.url, email),
          "row deleted": await signIn(b.url, email),
          expired: await signIn(a.url, email),
          "all revoked": await signIn(b.url, email)
        }
        const revoker = await signIn(a.url, email)
        if (cookieCache) for (const c of [...Object.values(cookies), revoker]) assert.include(c, "better-auth.session_data=", "the cache is on: each browser holds a session_data cookie")
        const tokens = Object.fromEntries(endings.map((e) => [e, sessionTokenOf(cookies[e])])) as Record<(typeof endings)[number], string>

        const targets: Array<Target> = apps.flatMap((app) =>
          endings.map((ending) => ({ name: `${app.instance}|${ending}`, url: `${app.url}/api/me`, headers: { cookie: cookies[ending] } }))
        )
        const traffic = startTraffic({ targets, concurrency: 2, maxMillis: 90_000, maxRequests: 1_000_000 })
        let samples: ReadonlyArray<Sample> = traffic.samples
        const loadAfter = (visible: number, ending: string) =>
          waitFor(() =>
            now() - visible > 1_000 &&
            targets.filter((t) => t.name.endsWith(`|${ending}`)).every((t) =>
              traffic.samples.filter((s) => s.target === t.name && s.start > visible).length >= ENOUGH
            ), 20_000, 100)
        const post = async (app: AppProcess, path: string, cookie: string, body: unknown) => {
          const started = now()
          const response = await fetch(`${app.url}/api/auth/${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", origin: app.url, cookie },
            body: JSON.stringify(body)
          })
          assert.strictEqual(response.status, 200, `${path} answered ${response.status}`)
          return { started, ended: now() }
        }
        const changes: Partial<Record<(typeof endings)[number], { readonly started: number; readonly visible: number }>> = {}
        /** Ends a session; its end is visible when no live row of that token is left. */
        const end = async (ending: (typeof endings)[number], act: () => Promise<unknown>) => {
          const { started, visible } = await visibleDuring(databaseUrl,
            `select not exists (select 1 from "session" where "token" = $1 and "expiresAt" > clock_timestamp()) as done`, [tokens[ending]], act)
          changes[ending] = { started, visible }
          await loadAfter(visible, ending)
        }
        const sql = async (text: string, token: string) => {
          const started = now()
          await server.query(text, [token], database)
          return { started, ended: now() }
        }
        try {
          await sleep(1_500)
          await end("signed out", () => post(b, "sign-out", cookies["signed out"], {}))
          await end("revoked", () => post(a, "revoke-session", revoker, { token: tokens.revoked }))
          await end("row deleted", () => sql(`delete from "session" where "token" = $1`, tokens["row deleted"]))
          await end("expired", () => sql(`update "session" set "expiresAt" = now() - interval '1 second' where "token" = $1`, tokens.expired))
          await end("all revoked", () => post(a, "revoke-sessions", revoker, {}))
        } finally {
          samples = await traffic.stop()
        }

        const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 401)
        assert.strictEqual(unexpected.length, 0, `answers other than 200/401: ${unexpected.slice(0, 5).map((s) => `${s.target} ${s.status} ${s.failure ?? s.error ?? ""}`).join("; ")}`)
        assert.isTrue(samples.every((s) => s.status !== 200 || s.userId === userId), "a 200 for another user")

        const figures: Record<string, unknown> = {}
        const failures: Array<string> = []
        for (const ending of endings) {
          const { started, visible } = changes[ending]!
          for (const app of apps) {
            const mine = samples.filter((s) => s.target === `${app.instance}|${ending}`)
            const after = mine.filter((s) => s.start > visible)
            const successesAfter = after.filter((s) => s.status === 200)
            if (successesAfter.length > 0) {
              failures.push(`${app.instance} ${ending}: ${successesAfter.length} of ${after.length} requests started after the end was visible succeeded (the last ${round(Math.max(...successesAfter.map((s) => s.start)) - visible)} ms after)`)
            }
            assert.isAtLeast(after.length, ENOUGH, `${app.instance} ${ending}: too few requests after the end to judge`)
            const before = mine.filter((s) => s.end < started)
            assert.isAbove(before.length, 0)
            assert.isTrue(before.every((s) => s.status === 200), `${app.instance} ${ending}: refused before its end`)
            const during = mine.filter((s) => s.end >= started && s.start <= visible)
            figures[`${app.instance} ${ending}`] = {
              requests: mine.length,
              startedAfterVisible: after.length,
              successesAfterVisible: successesAfter.length,
              duringChange: during.length,
              duringChangeSucceeded: during.filter((s) => s.status === 200).length,
              visibleAfterMs: round(visible - started, 1)
            }
          }
        }
        const latencies = samples.map((s) => s.end - s.start)
        record(`ended-sessions-cookie-cache-${cookieCache ? "on" : "off"}`, {
          instances: 2,
          cookieCache: cookieCache ? "on (maxAge 300 s)" : "off",
          requests: samples.length,
          successesAfterVisible: failures.length === 0 ? 0 : failures,
          p50Ms: round(percentile(latencies, 50), 2),
          p99Ms: round(percentile(latencies, 99), 2),
          ...figures
        })
        assert.deepStrictEqual(failures, [], "requests that started after a session ended succeeded")
      } finally {
        await Promise.all(apps.map((app) => app.stop()))
      }
    }, 180_000)
  }
})
