/**
 * Revocation across instances: two app processes on one Postgres (the test's own throwaway
 * server) serve one user's token and cookie under load; a third process, the `fusion-auth`
 * CLI, revokes the token and then deactivates the user.
 *
 * When each change committed is Postgres's own answer (`track_commit_timestamp`, read from the
 * audit event the same transaction wrote), on the same clock as the request start times. Every
 * request that started after the commit must be refused, on both instances: zero successes.
 * Run with Better Auth's cookie cache off and on (on: Better Auth answers the cookie from its
 * signed cache, and fusion-auth reads `deactivatedAt` fresh).
 *
 * Sessions that end: five sessions of one user, each a browser sending its `session_token` and
 * (cache on) its `session_data` cookie, ended one after the other — signed out (Better Auth's
 * sign-out on instance b), revoked (`revoke-session` from a sixth session, on instance a), the
 * row deleted (SQL, as an operator would), `expiresAt` moved to the past (SQL), and all the
 * user's sessions revoked (`revoke-sessions`). The commit time of each is Postgres's own: a
 * trigger the test adds to its throwaway database writes a row for every delete and update
 * of a `session` row, in the same transaction. Zero successes after each commit, on both
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

/** Requests per instance and credential that must start after a commit for the count to mean something. */
const ENOUGH = 25

describe.skipIf(!canRunPostgres)("revocation across two app processes (throwaway Postgres server)", () => {
  let server: PostgresServer
  let clockSkewBoundMs = Number.NaN

  beforeAll(async () => {
    server = await startPostgres()
    // The test compares its own clock with Postgres's: check they agree to well under a millisecond.
    const client = new pg.Client({ connectionString: server.url("postgres", { application_name: "reliability-test" }) })
    await client.connect()
    try {
      let best = Number.POSITIVE_INFINITY
      for (let i = 0; i < 20; i++) {
        const before = now()
        const { rows } = await client.query<{ ms: number }>("select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms")
        const after = now()
        const ms = rows[0]!.ms
        assert.isTrue(ms >= before - 1 && ms <= after + 1, `Postgres's clock ${ms} is outside [${before}, ${after}]`)
        best = Math.min(best, after - before)
      }
      clockSkewBoundMs = best
    } finally {
      await client.end()
    }
  })
  afterAll(() => server?.destroy())

  for (const cookieCache of [false, true]) {
    it(`cookie cache ${cookieCache ? "on" : "off"}: no request that starts after the revoking commit succeeds, on either instance`, async () => {
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
        const commitOf = async (action: string, column: "tokenId" | "userId", id: string) => {
          const rows = await server.query<{ ms: number }>(
            `select (extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000)::float8 as ms
              from "fusionAuditEvent" where "action" = $1 and "${column}" = $2`,
            [action, id],
            database
          )
          assert.strictEqual(rows.length, 1, `one ${action} event`)
          return rows[0]!.ms
        }
        /** Keeps the load on for at least 1 s after `commit`, and until every target has enough requests after it. */
        const loadAfter = (commit: number, credentials: ReadonlyArray<string>) =>
          waitFor(() =>
            now() - commit > 1_000 &&
            targets.filter((t) => credentials.some((c) => t.name.endsWith(`|${c}`))).every((t) =>
              traffic.samples.filter((s) => s.target === t.name && s.start > commit).length >= ENOUGH
            ), 20_000, 100)
        let revokeRun, deactivateRun, revokedAt, deactivatedAt
        try {
          await sleep(1_500)
          revokeRun = await cli(databaseUrl, ["tokens", "revoke", revoked.id])
          assert.strictEqual(revokeRun.code, 0, revokeRun.stderr)
          revokedAt = await commitOf("token.revoked", "tokenId", revoked.id)
          await loadAfter(revokedAt, ["revoked token"])
          deactivateRun = await cli(databaseUrl, ["users", "deactivate", email])
          assert.strictEqual(deactivateRun.code, 0, deactivateRun.stderr)
          deactivatedAt = await commitOf("user.deactivated", "userId", userId)
          await loadAfter(deactivatedAt, ["other token", "cookie"])
        } finally {
          samples = await traffic.stop()
        }
        assert.isTrue(revokeRun.started < revokedAt && revokedAt < revokeRun.ended, "commit time outside the CLI's run")
        assert.isTrue(deactivateRun.started < deactivatedAt && deactivatedAt < deactivateRun.ended, "commit time outside the CLI's run")

        const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 401)
        assert.strictEqual(unexpected.length, 0, `answers other than 200/401: ${unexpected.slice(0, 5).map((s) => `${s.target} ${s.status} ${s.error ?? ""}`).join("; ")}`)
        assert.isTrue(samples.every((s) => s.status !== 200 || s.userId === userId), "a 200 for another user")

        const figures: Record<string, unknown> = {}
        const check = (credential: keyof typeof credentials, commit: number, label: string) => {
          for (const app of apps) {
            const mine = samples.filter((s) => s.target === `${app.instance}|${credential}`)
            const after = mine.filter((s) => s.start > commit)
            const successesAfter = after.filter((s) => s.status === 200)
            assert.strictEqual(successesAfter.length, 0, `${app.instance} ${credential}: ${successesAfter.length} successes started after the ${label} commit (first ${(successesAfter[0]?.start ?? 0) - commit} ms after)`)
            assert.isAtLeast(after.length, ENOUGH, `${app.instance} ${credential}: too few requests after the ${label} commit to judge`)
            const before = mine.filter((s) => s.end < commit)
            assert.isAbove(before.length, 0)
            assert.isTrue(before.every((s) => s.status === 200), `${app.instance} ${credential}: refused before the ${label} commit`)
            const inFlight = mine.filter((s) => s.start <= commit && s.end >= commit)
            const lastSuccess = Math.max(...mine.filter((s) => s.status === 200).map((s) => s.start))
            const firstRefusal = Math.min(...mine.filter((s) => s.status === 401).map((s) => s.start))
            figures[`${app.instance} ${credential}`] = {
              requests: mine.length,
              startedAfterCommit: after.length,
              successesAfterCommit: 0,
              inFlightAtCommit: inFlight.length,
              inFlightSucceeded: inFlight.filter((s) => s.status === 200).length,
              lastSuccessStartMsBeforeCommit: round(commit - lastSuccess, 3),
              firstRefusalStartMsFromCommit: round(firstRefusal - commit, 3)
            }
          }
        }
        check("revoked token", revokedAt, "revoke")
        check("other token", deactivatedAt, "deactivate")
        check("cookie", deactivatedAt, "deactivate")
        // Between the two commits the revocation touched nothing else.
        for (const credential of ["other token", "cookie"] as const) {
          const between = samples.filter((s) => s.target.endsWith(`|${credential}`) && s.start > revokedAt && s.end < deactivatedAt)
          assert.isAbove(between.length, 0)
          assert.isTrue(between.every((s) => s.status === 200), `${credential} refused before the deactivation`)
        }
        const latencies = samples.map((s) => s.end - s.start)
        record(`revocation-cookie-cache-${cookieCache ? "on" : "off"}`, {
          instances: 2,
          cookieCache: cookieCache ? "on (maxAge 300 s)" : "off",
          requests: samples.length,
          successesAfterCommit: 0,
          clockAgreementMs: round(clockSkewBoundMs, 3),
          revokeCliMs: round(revokeRun.ended - revokeRun.started),
          revokeCommitBeforeCliExitMs: round(revokeRun.ended - revokedAt),
          deactivateCliMs: round(deactivateRun.ended - deactivateRun.started),
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
        // The commit clock of every session delete and update, written in the ending transaction itself.
        await server.query(
          `create table "sessionEnded" ("token" text not null, "op" text not null);
           create function "recordSessionEnded"() returns trigger language plpgsql as $$
             begin insert into "sessionEnded" values (old."token", tg_op); return null; end $$;
           create trigger "sessionEnded" after delete or update on "session" for each row execute function "recordSessionEnded"();`,
          [],
          database
        )
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
        const commitOf = async (token: string, op: "DELETE" | "UPDATE") => {
          const rows = await server.query<{ ms: number }>(
            `select (extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000)::float8 as ms
              from "sessionEnded" where "token" = $1 and "op" = $2 order by 1 limit 1`,
            [token, op],
            database
          )
          assert.strictEqual(rows.length, 1, `the ${op} of the session committed`)
          return rows[0]!.ms
        }
        const loadAfter = (commit: number, ending: string) =>
          waitFor(() =>
            now() - commit > 1_000 &&
            targets.filter((t) => t.name.endsWith(`|${ending}`)).every((t) =>
              traffic.samples.filter((s) => s.target === t.name && s.start > commit).length >= ENOUGH
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
        const commits: Partial<Record<(typeof endings)[number], { readonly at: number; readonly started: number; readonly ended: number }>> = {}
        const end = async (ending: (typeof endings)[number], op: "DELETE" | "UPDATE", act: () => Promise<{ started: number; ended: number }>) => {
          const run = await act()
          const at = await commitOf(tokens[ending], op)
          assert.isTrue(run.started < at && at < run.ended, `the ${ending} commit is outside the call that made it`)
          commits[ending] = { at, ...run }
          await loadAfter(at, ending)
        }
        const sql = async (text: string, token: string) => {
          const started = now()
          await server.query(text, [token], database)
          return { started, ended: now() }
        }
        try {
          await sleep(1_500)
          await end("signed out", "DELETE", () => post(b, "sign-out", cookies["signed out"], {}))
          await end("revoked", "DELETE", () => post(a, "revoke-session", revoker, { token: tokens.revoked }))
          await end("row deleted", "DELETE", () => sql(`delete from "session" where "token" = $1`, tokens["row deleted"]))
          await end("expired", "UPDATE", () => sql(`update "session" set "expiresAt" = now() - interval '1 second' where "token" = $1`, tokens.expired))
          await end("all revoked", "DELETE", () => post(a, "revoke-sessions", revoker, {}))
        } finally {
          samples = await traffic.stop()
        }

        const unexpected = samples.filter((s) => s.status !== 200 && s.status !== 401)
        assert.strictEqual(unexpected.length, 0, `answers other than 200/401: ${unexpected.slice(0, 5).map((s) => `${s.target} ${s.status} ${s.failure ?? s.error ?? ""}`).join("; ")}`)
        assert.isTrue(samples.every((s) => s.status !== 200 || s.userId === userId), "a 200 for another user")

        const figures: Record<string, unknown> = {}
        const failures: Array<string> = []
        for (const ending of endings) {
          const commit = commits[ending]!.at
          for (const app of apps) {
            const mine = samples.filter((s) => s.target === `${app.instance}|${ending}`)
            const after = mine.filter((s) => s.start > commit)
            const successesAfter = after.filter((s) => s.status === 200)
            if (successesAfter.length > 0) {
              failures.push(`${app.instance} ${ending}: ${successesAfter.length} of ${after.length} requests started after the commit succeeded (the last ${round(Math.max(...successesAfter.map((s) => s.start)) - commit)} ms after)`)
            }
            assert.isAtLeast(after.length, ENOUGH, `${app.instance} ${ending}: too few requests after the commit to judge`)
            const before = mine.filter((s) => s.end < commit)
            assert.isAbove(before.length, 0)
            assert.isTrue(before.every((s) => s.status === 200), `${app.instance} ${ending}: refused before its commit`)
            const inFlight = mine.filter((s) => s.start <= commit && s.end >= commit)
            figures[`${app.instance} ${ending}`] = {
              requests: mine.length,
              startedAfterCommit: after.length,
              successesAfterCommit: successesAfter.length,
              inFlightAtCommit: inFlight.length,
              inFlightSucceeded: inFlight.filter((s) => s.status === 200).length
            }
          }
        }
        const latencies = samples.map((s) => s.end - s.start)
        record(`ended-sessions-cookie-cache-${cookieCache ? "on" : "off"}`, {
          instances: 2,
          cookieCache: cookieCache ? "on (maxAge 300 s)" : "off",
          requests: samples.length,
          successesAfterCommit: failures.length === 0 ? 0 : failures,
          clockAgreementMs: round(clockSkewBoundMs, 3),
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
