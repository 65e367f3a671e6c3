/**
 * Better Auth plugins that hand an existing session to a browser, on real Better Auth over
 * PGlite and Postgres: a one-time token (`oneTimeToken()`, minted while the user could act,
 * verified after), multi-session's switch between a device's accounts, and the admin plugin's
 * end of an impersonation (which hands the admin their own session back). For a locked-out
 * user each is refused as sign-in is (403 `USER_DEACTIVATED` / `USER_BANNED`), with no cookie
 * on the response; once the lock-out ends, the same flows hand the session over again.
 */
import { assert, it } from "@effect/vitest"
import { type BetterAuthPlugin, betterAuth } from "better-auth"
import { createAuthMiddleware } from "better-auth/api"
import { admin, bearer, customSession, jwt, multiSession, oneTimeToken } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { authRequest, jarAfter, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool, withWorld } from "./support/databases.ts"
import { countStatements } from "./support/wire.ts"

const PASSWORD = "correct horse battery"
let emails = 0

describeOnBackends("plugins that hand a session to the browser", (url) => makeWorld(url), (held) => {
  it("admin's stop-impersonating, the impersonated user locked out meanwhile: the impersonation ends and the admin gets their own session back; after the admin's own lock-out it ends with no session handed back", async () => {
    const w = held.world
    const admin = await w.signUp()
    await w.pool.query(`update "user" set "role" = 'admin' where "id" = $1`, [admin.userId])
    const impersonating = async (userId: string) => {
      const started = await w.call("/admin/impersonate-user", admin.jar, { userId })
      assert.strictEqual(started.status, 200, JSON.stringify(started.body))
      return jarAfter(admin.jar, started.cookies)
    }
    const sessions = async (userId: string) => (await w.pool.query(`select 1 from "session" where "userId" = $1 and "impersonatedBy" = $2`, [userId, admin.userId])).rowCount
    const ada = await w.signUp()
    const asAda = await impersonating(ada.userId)
    await w.app.users.deactivate(ada.userId)
    const stopped = await w.call("/admin/stop-impersonating", asAda, {})
    assert.deepInclude(stopped, { status: 200 }, JSON.stringify(stopped.body))
    assert.strictEqual(await sessions(ada.userId), 0, "the impersonation ended")
    assert.strictEqual((await w.app.getSession(new Headers({ cookie: jarAfter(asAda, stopped.cookies) })))?.user.id, admin.userId, "the admin's own session back")
    // The admin locked out while impersonating: stopping ends the impersonation and hands nothing back.
    const bo = await w.signUp()
    const asBo = await impersonating(bo.userId)
    await w.app.users.deactivate(admin.userId)
    const refused = await w.call("/admin/stop-impersonating", asBo, {})
    assert.deepInclude(refused, { status: 403, code: "USER_DEACTIVATED", ott: null, jwt: null })
    assert.isFalse(refused.cookies.some((cookie) => /^better-auth\.session_token=[^;]/.test(cookie)), "no session cookie")
    assert.strictEqual(await sessions(bo.userId), 0, "the impersonation ended")
  })

  it("a one-time token minted before the lock-out is refused after it, with no cookie and no new one-time token; after reactivation the next one is honoured", async () => {
    const { userId, jar } = await held.world.signUp()
    const mint = async () => ((await held.world.call("/one-time-token/generate", jar)).body as { token: string }).token
    const [first, second] = [await mint(), await mint()]
    await held.world.app.users.deactivate(userId)
    const refused = await held.world.call("/one-time-token/verify", "", { token: first })
    assert.deepInclude(refused, { status: 403, code: "USER_DEACTIVATED", cookies: [], ott: null })
    await held.world.app.users.reactivate(userId)
    const honoured = await held.world.call("/one-time-token/verify", "", { token: second })
    assert.strictEqual(honoured.status, 200)
    assert.strictEqual((honoured.body as { user: { id: string } }).user.id, userId)
    assert.isNotEmpty(honoured.cookies, "the session cookie")
    assert.isNotNull(honoured.ott, "setOttHeaderOnNewSession's next one-time token")
  })

  it("a one-time token whose verification answers the session rather than set a cookie (disableSetSessionCookie): refused alike", async () => {
    await withWorld(makeWorld(held.db.url, { oneTimeToken: { disableSetSessionCookie: true } }), async (own) => {
      const { userId, jar } = await own.signUp()
      const token = ((await own.call("/one-time-token/generate", jar)).body as { token: string }).token
      await own.app.users.deactivate(userId)
      assert.deepInclude(await own.call("/one-time-token/verify", "", { token }), { status: 403, code: "USER_DEACTIVATED", cookies: [] })
    })
  })

  it("jwt() listed after fusionAuth(), a session due for refresh: /get-session answers null for a locked-out user, with no JWT", async () => {
    await withWorld(makeWorld(held.db.url, { after: [jwt()], updateAge: 0 }), async (own) => {
      const { userId, jar } = await own.signUp()
      await own.app.users.deactivate(userId)
      assert.deepInclude(await own.call("/get-session", jar), { status: 200, body: null, jwt: null })
      await own.app.users.reactivate(userId)
      const served = await own.call("/get-session", jar)
      assert.strictEqual(served.status, 200)
      assert.isNotNull(served.jwt)
    })
  })

  it("a hook that opens a session through the context it returns, a plugin's or the app's own: a locked-out user's is refused before the endpoint runs", async () => {
    for (const where of ["plugin", "app"] as const) {
      await withWorld(makeWorld(held.db.url, where === "plugin" ? { after: [opener] } : { hook: opener.hooks.before[0]!.handler }), async (own) => {
        const { userId } = await own.signUp()
        const asUser = { "x-open-as": userId }
        assert.deepInclude(await own.call("/update-user", "", { name: "Renamed" }, asUser), { status: 200 }, `${where}: the door is open`)
        await own.app.users.deactivate(userId)
        assert.deepInclude(await own.call("/update-user", "", { name: "Stolen" }, asUser), { status: 401, code: "USER_DEACTIVATED" }, where)
        const { rows } = await own.pool.query<{ name: string }>(`select "name" from "user" where "id" = $1`, [userId])
        assert.strictEqual(rows[0]!.name, "Renamed", `${where}: the endpoint never ran`)
      })
    }
  })

  it("multi-session: switching a device to a locked-out account is refused, with no cookie; after the ban ends, allowed", async () => {
    // One browser, two accounts: Ada's session, then Bo's (active), both in its jar.
    const ada = await held.world.signUp()
    const bo = await held.world.signIn(await held.world.signUp(), ada.jar)
    const adaToken = ada.jar.match(/session_token=([^.;]+)/)![1]!
    await held.world.pool.query(`update "user" set "banned" = true where "id" = $1`, [ada.userId])
    const refused = await held.world.call("/multi-session/set-active", bo.jar, { sessionToken: adaToken })
    assert.deepInclude(refused, { status: 403, code: "USER_BANNED", cookies: [] })
    const still = await held.world.app.getSession(new Headers({ cookie: bo.jar }))
    assert.strictEqual(still?.user.id, bo.userId, "the browser's active account is still Bo's")
    await held.world.pool.query(`update "user" set "banned" = false where "id" = $1`, [ada.userId])
    const allowed = await held.world.call("/multi-session/set-active", bo.jar, { sessionToken: adaToken })
    assert.strictEqual(allowed.status, 200)
    assert.isNotEmpty(allowed.cookies)
  })

  it("multi-session: a device's list of accounts leaves out a locked-out one, whatever a customSession makes of the list; after reactivation it is listed again", async () => {
    const ada = await held.world.signUp()
    const bo = await held.world.signIn(await held.world.signUp(), ada.jar)
    const listed = async (own = held.world) =>
      ((await own.call("/multi-session/list-device-sessions", bo.jar)).body as Array<{ user?: { id: string }; who?: string }>)
        .map((item) => item.who ?? item.user?.id).sort()
    assert.deepStrictEqual(await listed(), [ada.userId, bo.userId].sort())
    await held.world.app.users.deactivate(ada.userId)
    assert.deepStrictEqual(await listed(), [bo.userId])
    // multi-session takes any cookie whose name has `_multi-` as one of its own; the signature covers the value alone.
    const adaSigned = ada.jar.match(/better-auth\.session_token=([^;]+)/)![1]!
    const renamed = await held.world.call("/multi-session/list-device-sessions", `${bo.jar}; evil_multi-x=${adaSigned}`)
    assert.deepStrictEqual((renamed.body as Array<{ user: { id: string } }>).map((item) => item.user.id), [bo.userId])
    // A customSession listed first, reshaping the list so no item has a user's id, still never sees Ada's session.
    const reshaped = await makeWorld(held.db.url, {
      first: [customSession(async ({ user }) => ({ who: user.id }), {}, { shouldMutateListDeviceSessionsEndpoint: true })]
    })
    try {
      assert.deepStrictEqual(await listed(reshaped), [bo.userId])
    } finally {
      await reshaped.close()
    }
    await held.world.app.users.reactivate(ada.userId)
    assert.deepStrictEqual(await listed(), [ada.userId, bo.userId].sort())
  })

  it("multi-session, the device's active account locked out: the list shows the others and the device switches to one; signing in as someone else works", async () => {
    const bo = await held.world.signUp()
    const ada = await held.world.signIn(await held.world.signUp(), bo.jar) // Ada's is the active account
    const boToken = bo.jar.match(/session_token=([^.;]+)/)![1]!
    await held.world.app.users.deactivate(ada.userId)
    const list = await held.world.call("/multi-session/list-device-sessions", ada.jar)
    assert.strictEqual(list.status, 200)
    assert.deepStrictEqual((list.body as Array<{ user: { id: string } }>).map((item) => item.user.id), [bo.userId])
    const switched = await held.world.call("/multi-session/set-active", ada.jar, { sessionToken: boToken })
    assert.strictEqual(switched.status, 200)
    assert.strictEqual((await held.world.app.getSession(new Headers({ cookie: jarAfter(ada.jar, switched.cookies) })))?.user.id, bo.userId)
    const cy = await held.world.signIn(await held.world.signUp(), ada.jar)
    assert.strictEqual((await held.world.app.getSession(new Headers({ cookie: cy.jar })))?.user.id, cy.userId)
  })

  it("multi-session, the device's active account locked out: revoking another of its sessions is refused, and the locked-out session is not refreshed by it", async () => {
    await withWorld(makeWorld(held.db.url, { updateAge: 0 }), async (own) => {
      const bo = await own.signUp()
      const ada = await own.signIn(await own.signUp(), bo.jar)
      await own.app.users.deactivate(ada.userId)
      const before = (await own.pool.query(`select "expiresAt" from "session" where "userId" = $1`, [ada.userId])).rows
      const boToken = bo.jar.match(/session_token=([^.;]+)/)![1]!
      assert.strictEqual((await own.call("/multi-session/revoke", ada.jar, { sessionToken: boToken })).status, 401) // no session acts for it
      assert.deepStrictEqual((await own.pool.query(`select "expiresAt" from "session" where "userId" = $1`, [ada.userId])).rows, before)
    })
  })

  it("multi-session: an account that is not locked out revokes its own session while a locked-out one sits on the device: 200, the cookies cleared, not moved to the locked-out account", async () => {
    const ada = await held.world.signUp()
    const bo = await held.world.signIn(await held.world.signUp(), ada.jar) // Bo's is the active account
    await held.world.app.users.deactivate(ada.userId)
    const boToken = bo.jar.match(/better-auth\.session_token=([^.;]+)/)![1]!
    const revoked = await held.world.call("/multi-session/revoke", bo.jar, { sessionToken: boToken })
    assert.strictEqual(revoked.status, 200)
    const after = jarAfter(bo.jar, revoked.cookies)
    assert.isNull(await held.world.app.getSession(new Headers({ cookie: after })))
    assert.notInclude(after, `session_token=${ada.jar.match(/better-auth\.session_token=([^;]+)/)![1]!}`)
  })

  it("a sign-in in a browser holding two accounts, none locked out, with another plugin's hook on every request: each session its cookies name is read once before the sign-in (counted on the wire)", async () => {
    const wire = await countStatements(held.db.url)
    const watcher = { id: "watcher", hooks: { before: [{ matcher: () => true, handler: createAuthMiddleware(async () => undefined) }] } } satisfies BetterAuthPlugin
    const own = await makeWorld(wire.url, { first: [watcher] })
    try {
      const ada = await own.signUp()
      const device = await own.signIn(await own.signUp(), ada.jar)
      const cy = await own.signUp()
      wire.reset()
      await own.signIn(cy, device.jar)
      const statements = wire.statements().map((statement) => statement.text)
      const beforeSignIn = statements.slice(0, statements.findIndex((text) => /^insert into "session"/.test(text)))
      const sessionReads = beforeSignIn.filter((text) => text.includes(`from "session" where "session"."token"`)).length
      // Bo's active cookie and the two multi-session cookies (one of them Bo's again): two sessions.
      const tokens = device.jar.split("; ").filter((pair) => pair.includes("session_token")).map((pair) => decodeURIComponent(pair.split("=")[1]!).split(".")[0])
      assert.lengthOf(tokens, 3)
      assert.strictEqual(sessionReads, new Set(tokens).size)
      assert.strictEqual(sessionReads, 2)
    } finally {
      await own.close()
      await wire.close()
    }
  })

  it("multi-session with bearer() listed after fusionAuth(), which copies the request's headers back: the list still leaves the locked-out account out", async () => {
    await withWorld(makeWorld(held.db.url, { after: [bearer()] }), async (own) => {
      const ada = await own.signUp()
      const bo = await own.signIn(await own.signUp(), ada.jar)
      await own.app.users.deactivate(ada.userId)
      const signed = decodeURIComponent(bo.jar.match(/better-auth\.session_token=([^;]+)/)![1]!)
      const list = await own.call("/multi-session/list-device-sessions", bo.jar, undefined, { authorization: `Bearer ${signed}` })
      assert.deepStrictEqual((list.body as Array<{ user: { id: string } }>).map((item) => item.user.id), [bo.userId])
    })
  })

  it("a cookie taken off the request changes no other header: what an earlier hook set reaches the endpoint's hooks", async () => {
    const seen: Array<string | null> = []
    const tenant = {
      id: "tenant",
      hooks: {
        before: [{ matcher: () => true, handler: createAuthMiddleware(async () => ({ context: { headers: new Headers({ "x-tenant": "rewritten" }) } })) }],
        after: [{ matcher: () => true, handler: createAuthMiddleware(async (ctx) => void seen.push(ctx.headers?.get("x-tenant") ?? null)) }]
      }
    } satisfies BetterAuthPlugin
    await withWorld(makeWorld(held.db.url, { first: [tenant] }), async (own) => {
      const ada = await own.signUp()
      const bo = await own.signIn(await own.signUp(), ada.jar)
      await own.app.users.deactivate(ada.userId)
      seen.length = 0
      const list = await own.call("/multi-session/list-device-sessions", bo.jar, undefined, { "x-tenant": "original" })
      assert.deepStrictEqual((list.body as Array<{ user: { id: string } }>).map((item) => item.user.id), [bo.userId])
      assert.deepStrictEqual(seen, ["rewritten"])
    })
  })
})

/**
 * A plugin whose before-hook opens a session for the user named in `x-open-as` by returning
 * it in the context to be merged, rather than setting it on the request's context.
 */
const opener = {
  id: "opener",
  hooks: {
    before: [{
      matcher: (ctx: { readonly headers?: Headers | undefined }) => ctx.headers?.get("x-open-as") != null,
      handler: createAuthMiddleware(async (ctx) => {
        const userId = ctx.headers?.get("x-open-as")
        if (userId == null) return // as the app's own hook, it runs for every request
        const user = await ctx.context.internalAdapter.findUserById(userId)
        const now = new Date()
        const session = { id: "opened", token: "opened", userId: user!.id, expiresAt: new Date(now.getTime() + 3_600_000), createdAt: now, updatedAt: now }
        return { context: { context: { session: { user, session } } } }
      })
    }]
  }
} satisfies BetterAuthPlugin

interface WorldOptions {
  /** The one-time-token plugin's options (default: its next token in `set-ott` on every new session). */
  readonly oneTimeToken?: Parameters<typeof oneTimeToken>[0]
  /** Plugins listed before every other. */
  readonly first?: ReadonlyArray<BetterAuthPlugin>
  /** Plugins listed after fusionAuth(). */
  readonly after?: ReadonlyArray<BetterAuthPlugin>
  /** The app's own `hooks.before`. */
  readonly hook?: ReturnType<typeof createAuthMiddleware>
  /** Better Auth's `session.updateAge`, in seconds. */
  readonly updateAge?: number
}

/** Better Auth with `admin()` (for its ban), `oneTimeToken()` and `multiSession()`, fusion-auth over it; browsers' jars as `Cookie` headers. */
const makeWorld = async (url: string, options: WorldOptions = {}) => {
  const pool = testPool(url, 2)
  const auth = betterAuth({
    ...quietOptions(pool),
    ...(options.updateAge === undefined ? {} : { session: { updateAge: options.updateAge } }),
    ...(options.hook === undefined ? {} : { hooks: { before: options.hook } }),
    plugins: [
      ...(options.first ?? []),
      admin(),
      oneTimeToken(options.oneTimeToken ?? { setOttHeaderOnNewSession: true }),
      multiSession(),
      fusionAuth(),
      ...(options.after ?? [])
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  /** Better Auth's endpoint `path` with the browser's `jar` (a POST when there is a body): status, code, body, credentials set. */
  const call = async (path: string, jar: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await auth.handler(authRequest(path, jar, body, headers))
    const answer = (await response.json()) as { code?: string } | null
    return {
      status: response.status,
      code: answer?.code,
      body: answer,
      cookies: response.headers.getSetCookie(),
      ott: response.headers.get("set-ott"),
      jwt: response.headers.get("set-auth-jwt")
    }
  }
  const signUp = async () => {
    const email = `handout${++emails}@example.com`
    const response = await call("/sign-up/email", "", { email, password: PASSWORD, name: "Handout" })
    if (response.status !== 200) throw new Error(`sign-up: ${response.status}`)
    return { email, userId: (response.body as { user: { id: string } }).user.id, jar: jarAfter("", response.cookies) }
  }
  /** Signs `account` in within the browser holding `jar`. */
  const signIn = async (account: { email: string; userId: string }, jar: string) => {
    const response = await call("/sign-in/email", jar, { email: account.email, password: PASSWORD })
    if (response.status !== 200) throw new Error(`sign-in: ${response.status}`)
    return { userId: account.userId, jar: jarAfter(jar, response.cookies) }
  }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, call, signUp, signIn, close }
}
