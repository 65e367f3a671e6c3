/**
 * What the native cookie path does not own goes to Better Auth's `getSession`, each case on
 * real Better Auth: a refresh due, secondary storage, a session-changing plugin, user hooks,
 * another adapter. And what it does own: with the cookie cache on, an ended session is
 * refused on the very next request, in one statement.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { memoryAdapter } from "better-auth/adapters/memory"
import { APIError, createAuthMiddleware } from "better-auth/api"
import { admin, customSession } from "better-auth/plugins"
import { Effect, Exit, Layer, Logger, ManagedRuntime, Option } from "effect"
import pg from "pg"
import { afterAll, beforeAll, vi } from "vitest"
import { Database } from "../src/effect.ts"
import { CookieSource, layerFor } from "../src/services/CookieSource.ts"
import { decide, versionSeen } from "../src/core/NativeCookie.ts"
import { serialize } from "../src/core/SignedCookie.ts"
import { SessionResolver } from "../src/effect.ts"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { impersonate, signUp } from "./support/auth.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"
import { testPassword } from "./support/password.ts"

const base = (database: unknown) => ({
  database: database as pg.Pool,
  secret: "test-secret-test-secret-test-secret-0123",
  baseURL: "http://localhost:3000",
  telemetry: { enabled: false },
  emailAndPassword: { enabled: true, password: testPassword }
})
let emails = 0
const email = () => `ho${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`
const NATIVE = /as "s0"/

for (const backend of sqlBackends) {
  describe(`cookie hand-over on ${backend.name}`, () => {
    let db: TestDatabase
    let wire: WireCounter
    const opened: Array<() => Promise<void>> = []
    beforeAll(async () => {
      db = await backend.make()
      wire = await countStatements(db.url)
    })
    afterAll(async () => {
      for (const close of opened.reverse()) await close()
      await wire.close()
      await db.close()
    })

    /** A Better Auth on the test database (or the given one), fusion-auth over it, and a signed-up user. */
    const world = async (options: Record<string, unknown>, database?: unknown, migrateIt = true) => {
      const pool = testPool(wire.url, 2)
      const auth = betterAuth({ ...base(database ?? pool), ...options } as ReturnType<typeof base>)
      if (migrateIt) await migrate(auth, { url: wire.url })
      const app = createAuthSession(auth, { database: { url: wire.url } })
      opened.push(async () => {
        await app.dispose()
        await pool.end()
      })
      const { userId, cookie } = await signUp(auth as never, email())
      const resolve = async (headers: Headers) => {
        wire.reset()
        const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(headers)))
        return { exit, statements: [...wire.statements()] }
      }
      return { auth, app, pool, userId, cookie, resolve }
    }

    it("a session due for refresh: Better Auth extends it (its write), and the answer is its own", async () => {
      const { pool, cookie, resolve } = await world({ plugins: [fusionAuth()] })
      const token = decodeURIComponent(cookie.match(/session_token=([^;]+)/)![1]!).split(".")[0]
      await pool.query(`update "session" set "expiresAt" = $1 where "token" = $2`, [new Date(Date.now() + 6 * 86400_000 - 1000), token])
      const { exit, statements } = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(exit))
      // The native statement sees the refresh is due; Better Auth then reads and writes on its own.
      assert.match(statements[0]!.text, NATIVE)
      assert.isTrue(statements.slice(1).some((s) => s.write && /update "session"/.test(s.text)))
      const after = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(after.exit))
      assert.isAbove((Exit.isSuccess(after.exit) ? after.exit.value.session!.expiresAt : new Date(0)).getTime(), Date.now() + 6.9 * 86400_000)
      assert.strictEqual(after.statements.length, 1)
      assert.match(after.statements[0]!.text, NATIVE)
    })

    it("secondary storage: handed over, and deactivation read afresh", async () => {
      const store = new Map<string, string>()
      const { app, userId, cookie, resolve } = await world({
        plugins: [fusionAuth()],
        secondaryStorage: {
          get: (key: string) => store.get(key) ?? null,
          set: (key: string, value: string) => void store.set(key, value),
          delete: (key: string) => void store.delete(key)
        }
      })
      const { exit, statements } = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.isFalse(statements.some((s) => NATIVE.test(s.text)))
      assert.isTrue(statements.some((s) => /from "user" where "user"."id" = \$1/.test(s.text)), "the lock-out read by primary key")
      await app.users.deactivate(userId)
      const refused = await resolve(new Headers({ cookie }))
      assert.strictEqual(Exit.isFailure(refused.exit) && (Exit.findErrorOption(refused.exit) as any).value?._tag, "Deactivated")
    })

    it("a plugin that replaces getSession (customSession): handed over", async () => {
      let calls = 0
      const { cookie, resolve } = await world({
        plugins: [fusionAuth(), customSession(async ({ user, session }) => (calls++, { user, session, extra: 1 }))]
      })
      const { exit, statements } = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(calls, 1)
      assert.isFalse(statements.some((s) => NATIVE.test(s.text)))
    })

    it("a handed-over answer that drops the session's impersonatedBy (customSession): the impersonation is still seen, so it mints nothing and ends with the admin's lock-out", async () => {
      // The session as an app might narrow it: Better Auth's own fields, without the admin plugin's.
      const narrowSession = ({ id, userId, token, expiresAt, createdAt, updatedAt }: Record<string, unknown>) => ({ id, userId, token, expiresAt, createdAt, updatedAt })
      const { auth, app, pool, userId: adminId, cookie: adminCookie, resolve } = await world({
        plugins: [admin(), fusionAuth(), customSession(async ({ user, session }) => ({ user, session: narrowSession(session) }))]
      })
      await pool.query(`update "user" set "role" = 'admin' where "id" = $1`, [adminId])
      const { userId: target } = await signUp(auth as never, email())
      const headers = new Headers({ cookie: await impersonate(auth, adminCookie, target) })
      const served = await resolve(headers)
      assert.isTrue(Exit.isSuccess(served.exit))
      assert.isFalse(served.statements.some((s) => NATIVE.test(s.text)), "handed over")
      const session = Exit.isSuccess(served.exit) ? served.exit.value : undefined
      assert.strictEqual(session?.user.id, target)
      assert.strictEqual(session?.session?.impersonatedBy, adminId, "the session Better Auth read, not the narrowed answer")
      const minted = await app.tokens.create({ caller: session!, name: "borrowed" }).then(() => "minted", (e: { _tag?: string }) => e._tag)
      assert.strictEqual(minted, "ImpersonationRefused")
      await app.users.deactivate(adminId)
      const refused = (await resolve(headers)).exit
      assert.deepInclude(Exit.isFailure(refused) ? (Exit.findErrorOption(refused) as any).value : {}, { _tag: "Deactivated", userId: adminId })
    })

    describe("a handed-over answer never decides the lock-out: it is read by primary key, one read more than Better Auth's own", () => {
      /** The user narrowed to what an app might keep: no `deactivatedAt`, no `banned`. */
      const narrow = (user: { id: string; email: string; name: string }) => ({ id: user.id, email: user.email, name: user.name })
      const USER_BY_ID = /from "user" where "user"."id" = \$1/
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
        ["customSession narrowing the user", { plugins: [admin(), fusionAuth(), customSession(async ({ user, session }) => ({ user: narrow(user), session }))] }],
        ["an app's hooks.after rewriting /get-session", {
          plugins: [admin(), fusionAuth()],
          hooks: {
            after: createAuthMiddleware(async (ctx) => {
              const answer = ctx.context.returned as { user?: { id: string; email: string; name: string }; session?: unknown } | null
              if (ctx.path === "/get-session" && answer?.user) return ctx.json({ session: answer.session, user: narrow(answer.user) })
            })
          }
        }],
        ["a plugin not on the list", {
          plugins: [admin(), fusionAuth(), {
            id: "acme-narrow",
            hooks: {
              after: [{
                matcher: (ctx: { path?: string }) => ctx.path === "/get-session",
                handler: createAuthMiddleware(async (ctx) => {
                  const answer = ctx.context.returned as { user?: { id: string; email: string; name: string }; session?: unknown } | null
                  if (answer?.user) return ctx.json({ session: answer.session, user: narrow(answer.user) })
                })
              }]
            }
          }]
        }]
      ]
      for (const [name, options] of cases) {
        it(name, async () => {
          const { app, pool, userId, cookie, resolve } = await world(options)
          const headers = new Headers({ cookie })
          const served = await resolve(headers)
          assert.isTrue(Exit.isSuccess(served.exit))
          assert.notProperty(Exit.isSuccess(served.exit) ? served.exit.value.user : {}, "deactivatedAt", "the answer is narrowed")
          assert.isFalse(served.statements.some((s) => NATIVE.test(s.text)), "handed over")
          // Better Auth's own two (session, user), and one primary-key read of the user for the lock-out.
          assert.deepStrictEqual(served.statements.map((s) => USER_BY_ID.test(s.text)), [false, true, true])
          const reasonOf = (exit: Exit.Exit<unknown, unknown>) =>
            Exit.isFailure(exit) ? (Exit.findErrorOption(exit) as any).value : undefined
          await app.users.deactivate(userId)
          assert.deepInclude(reasonOf((await resolve(headers)).exit), { _tag: "Deactivated", reason: "deactivated", credential: "cookie" })
          await app.users.reactivate(userId)
          await pool.query(`update "user" set "banned" = true, "banExpires" = $1 where "id" = $2`, [new Date(Date.now() + 60_000), userId])
          assert.deepInclude(reasonOf((await resolve(headers)).exit), { _tag: "Deactivated", reason: "banned" })
          await pool.query(`update "user" set "banExpires" = $1 where "id" = $2`, [new Date(Date.now() - 1), userId])
          assert.isTrue(Exit.isSuccess((await resolve(headers)).exit), "an expired ban locks out nothing")
        })
      }
    })

    it("a refused hand-over is no session: Better Auth's 401 or 403 is Anonymous; anything else stays a failure", async () => {
      let status: "UNAUTHORIZED" | "FORBIDDEN" | "INTERNAL_SERVER_ERROR" = "UNAUTHORIZED"
      const { app, cookie, resolve } = await world({
        plugins: [fusionAuth()],
        hooks: {
          before: createAuthMiddleware(async (ctx) => {
            if (ctx.path === "/get-session") throw new APIError(status, { message: "refused by a hook" })
          })
        }
      })
      const headers = new Headers({ cookie })
      for (status of ["UNAUTHORIZED", "FORBIDDEN"] as const) {
        const { exit } = await resolve(headers)
        assert.strictEqual(Exit.isFailure(exit) && (Exit.findErrorOption(exit) as any).value?._tag, "Anonymous", status)
      }
      status = "INTERNAL_SERVER_ERROR"
      const failed = await app.getSession(headers).then(() => undefined, (error: unknown) => error)
      assert.instanceOf(failed, Error)
      assert.strictEqual((failed as Error).name, "BetterAuthFailure")
    })

    it("user hooks: handed over, so they run", async () => {
      let calls = 0
      const { cookie, resolve } = await world({
        plugins: [fusionAuth()],
        hooks: { before: createAuthMiddleware(async () => void calls++) }
      })
      calls = 0
      const { exit, statements } = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(calls, 1)
      assert.isFalse(statements.some((s) => NATIVE.test(s.text)))
    })

    it("another adapter (memory): handed over, never guessed", async () => {
      const memory = memoryAdapter({ user: [], session: [], account: [], verification: [] })
      const { cookie, resolve } = await world({ plugins: [fusionAuth()] }, memory, false)
      const { exit, statements } = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(statements.length, 0)
    })

    it("with the cookie cache on, a session ended in the database is refused on the very next request", async () => {
      const { auth, pool, cookie, resolve } = await world({ plugins: [fusionAuth()], session: { cookieCache: { enabled: true, maxAge: 300 } } })
      assert.include(cookie, "session_data")
      const first = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(first.exit))
      assert.strictEqual(first.statements.length, 1)
      const token = decodeURIComponent(cookie.match(/session_token=([^;]+)/)![1]!).split(".")[0]
      await pool.query(`delete from "session" where "token" = $1`, [token])
      assert.isNotNull(await auth.api.getSession({ headers: new Headers({ cookie }) }), "Better Auth's cache still says yes")
      const next = await resolve(new Headers({ cookie }))
      assert.strictEqual(Exit.isFailure(next.exit) && (Exit.findErrorOption(next.exit) as any).value?._tag, "Anonymous")
      assert.strictEqual(next.statements.length, 1)
      assert.isFalse(next.statements.some((s) => s.write))
    })

    it("refresh disabled (disableSessionRefresh): a session past updateAge stays native, with no write, as Better Auth answers", async () => {
      const { auth, pool, cookie, userId, resolve } = await world({ plugins: [fusionAuth()], session: { disableSessionRefresh: true } })
      const token = decodeURIComponent(cookie.match(/session_token=([^;]+)/)![1]!).split(".")[0]
      const due = new Date(Date.now() + 6 * 86400_000 - 1000)
      await pool.query(`update "session" set "expiresAt" = $1 where "token" = $2`, [due, token])
      const { exit, statements } = await resolve(new Headers({ cookie }))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(statements.length, 1)
      assert.match(statements[0]!.text, NATIVE)
      const theirs = await auth.api.getSession({ headers: new Headers({ cookie }) })
      const ours = Exit.isSuccess(exit) ? exit.value : undefined
      assert.strictEqual(ours?.user.id, userId)
      assert.deepStrictEqual(ours?.session, theirs?.session as never)
      assert.strictEqual((await pool.query(`select "expiresAt" from "session" where "token" = $1`, [token])).rows[0].expiresAt.getTime(), due.getTime())
    })

    it("Better Auth's runtime schema check (later 1.7 patches): while it has no verdict, the cookie is handed over; then native", async () => {
      const { cookie, userId } = await world({ plugins: [fusionAuth()] })
      // A second instance on the same, migrated database: its schema check has no verdict yet.
      const pool = testPool(wire.url, 2)
      const auth = betterAuth({ ...base(pool), plugins: [fusionAuth()] })
      const app = createAuthSession(auth, { database: { url: wire.url } })
      opened.push(async () => {
        await app.dispose()
        await pool.end()
      })
      const resolve = async () => {
        wire.reset()
        const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers({ cookie }))))
        return { exit, statements: [...wire.statements()] }
      }
      const checks = typeof ((await auth.$context) as { checkSchema?: unknown }).checkSchema === "function"
      const first = await resolve()
      assert.strictEqual(Exit.isSuccess(first.exit) && first.exit.value.user.id, userId)
      // 1.7.0 has no runtime check: nothing to wait for, the first cookie is native already.
      assert.strictEqual(first.statements.some((s) => NATIVE.test(s.text)), !checks, checks ? "decided by Better Auth while its check is pending" : "native")
      const second = await resolve()
      assert.strictEqual(Exit.isSuccess(second.exit) && second.exit.value.user.id, userId)
      assert.strictEqual(second.statements.length, 1)
      assert.match(second.statements[0]!.text, NATIVE)
    })

    it("a schema Better Auth's check fails (a column dropped): the request fails rather than answer, handed over or not", async () => {
      const own = await backend.make()
      const pool = testPool(own.url, 2)
      const auth = betterAuth({ ...base(pool), plugins: [fusionAuth()] })
      await migrate(auth, { url: own.url })
      const { cookie } = await signUp(auth as never, email())
      await pool.query(`alter table "session" drop column "userAgent"`)
      const stale = testPool(own.url, 2)
      const app = createAuthSession(betterAuth({ ...base(stale), plugins: [fusionAuth()] }), { database: { url: own.url } })
      try {
        for (let i = 0; i < 2; i++) {
          const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers({ cookie }))))
          assert.isTrue(Exit.isFailure(exit) && Exit.findErrorOption(exit)._tag === "None", "a defect: neither a session nor an authentication error")
        }
      } finally {
        await app.dispose()
        await stale.end()
        await pool.end()
        await own.close()
      }
    })

    it("rotated secrets (`secrets`): the current one signs and verifies, as in Better Auth; a cookie signed with an older one is refused unread", async () => {
      const OLD = "old-secret-old-secret-old-secret-0123456789"
      const NEW = "new-secret-new-secret-new-secret-0123456789"
      const { auth, userId, cookie, resolve } = await world({
        plugins: [fusionAuth()],
        secret: undefined,
        secrets: [{ version: 2, value: NEW }, { version: 1, value: OLD }]
      })
      const current = await resolve(new Headers({ cookie }))
      assert.strictEqual(Exit.isSuccess(current.exit) && current.exit.value.user.id, userId)
      assert.match(current.statements[0]!.text, NATIVE)
      const token = decodeURIComponent(cookie.match(/session_token=([^;]+)/)![1]!).split(".")[0]!
      const older = `better-auth.session_token=${serialize(token, OLD)}`
      assert.isNull(await auth.api.getSession({ headers: new Headers({ cookie: older }) }), "Better Auth refuses it")
      const refused = await resolve(new Headers({ cookie: older }))
      assert.strictEqual(Exit.isFailure(refused.exit) && (Exit.findErrorOption(refused.exit) as any).value?._tag, "Anonymous")
      assert.strictEqual(refused.statements.length, 0)
    })

    it("a Better Auth minor not seen yet (1.8): everything handed over, said once at start-up as a warning through Effect's logger", async () => {
      const { auth, userId, cookie } = await world({ plugins: [fusionAuth()] })
      const lines: Array<{ level: string; message: string }> = []
      const capture = Logger.layer([Logger.make((o) => lines.push({ level: o.logLevel, message: [o.message].flat().join(" ") }))])
      const runtime = ManagedRuntime.make(layerFor(auth, { version: () => "1.8.0" }).pipe(Layer.provide(Database.layer({ url: wire.url })), Layer.provide(capture)))
      try {
        for (let i = 0; i < 3; i++) {
          wire.reset()
          const found = await runtime.runPromise(CookieSource.use((source) => source.get(new Headers({ cookie }))))
          assert.strictEqual(Option.getOrThrow(found).user.id, userId)
          assert.isFalse(wire.statements().some((s) => NATIVE.test(s.text)))
          // Better Auth's own two, and the lock-out read by primary key: at most one more than Better Auth alone.
          assert.strictEqual(wire.statements().length, 3)
          assert.match(wire.statements()[2]!.text, /from "user" where "user"."id" = \$1/)
        }
        assert.deepStrictEqual(lines.map((l) => l.level), ["Warn"])
        assert.match(lines[0]!.message, /^fusion-auth: Better Auth 1\.8\.0 is not a release fusion-auth has seen \(1\.7\.x\); the native cookie path is off/)
      } finally {
        await runtime.dispose()
      }
      // Any 1.7 patch, a later one than the lockfile's included, is checked by behaviour and answered natively, silently.
      lines.length = 0
      const inRange = ManagedRuntime.make(layerFor(auth, { version: () => "1.7.99" }).pipe(Layer.provide(Database.layer({ url: wire.url })), Layer.provide(capture)))
      wire.reset()
      await inRange.runPromise(CookieSource.use((source) => source.get(new Headers({ cookie }))).pipe(Effect.asVoid))
      assert.match(wire.statements()[0]!.text, NATIVE)
      assert.deepStrictEqual(lines, [])
      await inRange.dispose()
    })

    it("the start-up check finding a difference, or failing: everything handed over, with one warning naming it", async () => {
      const { auth, userId, cookie } = await world({ plugins: [fusionAuth()] })
      for (const [probe, line] of [
        [async () => "Better Auth's refresh rule differs: a don't-remember session was refreshed or refused", /^fusion-auth: Better Auth's refresh rule differs: a don't-remember session was refreshed or refused; the native cookie path is off/],
        [() => Promise.reject(new Error("boom")), /^fusion-auth: the start-up check failed \(Error: boom\); the native cookie path is off/]
      ] as const) {
        const lines: Array<{ level: string; message: string }> = []
        const capture = Logger.layer([Logger.make((o) => lines.push({ level: o.logLevel, message: [o.message].flat().join(" ") }))])
        const runtime = ManagedRuntime.make(layerFor(auth, { version: () => "1.7.29", probe }).pipe(Layer.provide(Database.layer({ url: wire.url })), Layer.provide(capture)))
        try {
          wire.reset()
          const found = await runtime.runPromise(CookieSource.use((source) => source.get(new Headers({ cookie }))))
          assert.strictEqual(Option.getOrThrow(found).user.id, userId)
          assert.isFalse(wire.statements().some((s) => NATIVE.test(s.text)))
          assert.deepStrictEqual(lines.map((l) => l.level), ["Warn"])
          assert.match(lines[0]!.message, line)
        } finally {
          await runtime.dispose()
        }
      }
    })

    it("native: false: every cookie handed over, noted only at debug level", async () => {
      const { auth, userId, cookie } = await world({ plugins: [fusionAuth()] })
      const app = createAuthSession(auth, { database: { url: wire.url }, nativeCookie: false })
      try {
        wire.reset()
        assert.strictEqual((await app.getSession(new Headers({ cookie })))?.user.id, userId)
        assert.isFalse(wire.statements().some((s) => NATIVE.test(s.text)))
        assert.strictEqual(wire.statements().length, 3)
      } finally {
        await app.dispose()
      }
    })

    it("decides from Better Auth's own context: plugins, hooks, storage, adapter, version", async () => {
      const { auth } = await world({ plugins: [fusionAuth()], advanced: { cookiePrefix: "my-app" } })
      const ctx = (await auth.$context) as any
      const native = decide(ctx, "1.7.25")
      assert.strictEqual(native._tag, "Native")
      assert.strictEqual(native._tag === "Native" && native.plan.cookieName, "my-app.session_token")
      const variant = (change: (options: any, ctx: any) => void) => {
        const copy = { ...ctx, options: { ...ctx.options }, adapter: { ...ctx.adapter, options: { ...ctx.adapter.options } } }
        change(copy.options, copy)
        return decide(copy, "1.7.25")._tag
      }
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, { id: "something-new" }])), "HandOver")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, { id: "admin", endpoints: { getSession: {} } }])), "HandOver")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, { id: "admin" }, { id: "tanstack-start-cookies" }])), "Native")
      // A plugin released apart from Better Auth is taken at the minors read, never at the next one.
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, { id: "passkey", version: "1.7.6" }])), "Native")
      const nextPasskey = decide({ ...ctx, options: { ...ctx.options, plugins: [...ctx.options.plugins, { id: "passkey", version: "1.8.0" }] } }, "1.7.25")
      // Not the app's choice but a plugin not being what was read: said as a warning.
      assert.deepStrictEqual(nextPasskey, { _tag: "HandOver", reason: `plugin "passkey" 1.8.0 is not a release fusion-auth has seen (1.7.x)`, differs: true })
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, { id: "sso", version: "1.7.30-beta.1" }])), "HandOver")
      const hooked = (id: string, matcher: (call: any) => unknown) => ({ id, hooks: { after: [{ matcher, handler: () => undefined }] } })
      // api-key's hook answers /get-session from a header of its own when the app makes keys sessions: a matcher that reads the headers matches.
      const keysAsSessions = decide({ ...ctx, options: { ...ctx.options, plugins: [...ctx.options.plugins, hooked("api-key", (c) => c.headers.get("x-api-key") !== null)] } }, "1.7.25")
      assert.deepStrictEqual(keysAsSessions, { _tag: "HandOver", reason: `plugin "api-key" answers getSession itself, as configured`, differs: false })
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("api-key", () => false)])), "Native")
      // A listed plugin is asked whether a hook of its runs for fusion-auth's call, as Better Auth asks it: a later patch that adds one is handed over.
      const onGetSession = decide({ ...ctx, options: { ...ctx.options, plugins: [...ctx.options.plugins, hooked("passkey", (c) => c.path === "/get-session")] } }, "1.7.25")
      assert.deepStrictEqual(onGetSession, { _tag: "HandOver", reason: `plugin "passkey" has a hook on getSession`, differs: true })
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("passkey", (c) => c.query.disableCookieCache === true)])), "HandOver", "a hook on fusion-auth's own query")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("passkey", (c) => c.headers.has("x-passkey-session"))])), "HandOver", "a hook waiting for a header")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("passkey", (c) => c.headers.get("sec-fetch-mode") === "navigate")])), "HandOver", "a hook waiting for a header's value")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("sso", (c) => c.body.missing)])), "HandOver", "a matcher that throws")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("sso", async () => { throw new Error("refused") })])), "HandOver", "a matcher answering a promise (its rejection kept, never unhandled)")
      // Asked as Better Auth's dispatch asks: the context a copy (nothing a matcher sets on it stays), the call auth.api's own.
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("passkey", (c) => ((c.context.marked = true), c.operationId !== "getSession" || c.method !== undefined || c.context.session !== null))])), "Native")
      assert.notProperty(ctx, "marked")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("passkey", (c) => c.path.startsWith("/passkey/"))])), "Native")
      assert.strictEqual(variant((o) => (o.plugins = [...o.plugins, hooked("jwt", () => true)])), "Native", "jwt's hook there only adds set-auth-jwt")
      assert.strictEqual(variant((o) => (o.hooks = { after: () => undefined })), "HandOver")
      assert.strictEqual(variant((o) => (o.secondaryStorage = {})), "HandOver")
      // The app's own choice is not a difference: said at debug level only.
      const chosen = decide({ ...ctx, options: { ...ctx.options, secondaryStorage: {} } }, "1.7.25")
      assert.isTrue(chosen._tag === "HandOver" && !chosen.differs)
      const missing = decide({ ...ctx, secret: undefined }, "1.7.25")
      assert.isTrue(missing._tag === "HandOver" && missing.differs && missing.reason === "Better Auth's secret is unknown")
      assert.strictEqual(variant((o) => (o.session = { ...o.session, deferSessionRefresh: true })), "HandOver")
      assert.strictEqual(variant((_, c) => (c.adapter.id = "drizzle")), "HandOver")
      assert.strictEqual(variant((_, c) => (c.adapter.options.type = "mysql")), "HandOver")
      assert.strictEqual(variant((o) => (o.baseURL = { allowedHosts: ["x"] })), "HandOver")
      assert.strictEqual(variant((_, c) => (c.tables = { ...c.tables, user: { ...c.tables.user, fields: { ...c.tables.user.fields, tags: { type: "string[]" } } } })), "HandOver")
      for (const version of ["1.8.0", "1.6.9", "1.7.0-beta.2", "1.7.30-rc.1", "2.0.0", "2.7.0", undefined]) {
        assert.isFalse(versionSeen(version), String(version))
        const decision = decide(ctx, version)
        assert.isTrue(decision._tag === "HandOver" && decision.differs, String(version))
      }
      for (const version of ["1.7.0", "1.7.12", "1.7.25", "1.7.29", "1.7.140"]) assert.isTrue(versionSeen(version), version)
      assert.strictEqual(decide(undefined, "1.7.25")._tag, "HandOver")
    })
  })
}
