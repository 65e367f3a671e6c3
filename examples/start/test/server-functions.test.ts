/**
 * The app's own server code with swapped layers and no database: the real choke point over
 * memory stores (test/support/auth.ts stands in for src/lib/auth.ts), called the way its
 * server functions call it: `requireSessionMiddleware` is `requireSession()` for the request,
 * here given the Request instead of TanStack Start's, then the function with that session.
 * (The middleware itself, on a real Start server: middleware.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { isRedirect } from "@tanstack/react-router"
import { Layer, Redacted } from "effect"
import { vi } from "vitest"
import { tryLines } from "#/lib/tokenForm"

// The root vitest config has no alias for the library: point `fusion-auth` at this repo's source.
vi.mock("#/lib/auth", () => import("./support/auth.ts"))

const { InvalidToken } = await import("fusion-auth")
const { SessionResolver, Stores } = await import("fusion-auth/testing")
const { runtime, signedUp } = await import("./support/auth.ts")
const { requireSession, tokens: library } = await import("#/lib/auth") // support/auth.ts's, typed as the app's own
const account = await import("#/server/account")
const tokens = await import("#/server/tokens")
const adminServer = await import("#/server/admin")
const { me } = await import("#/server/me")
const { makeApiHandler } = await import("#/server/api")

const at = (path: string, headers: Record<string, string> = {}) => new Request(`http://app.test${path}`, { headers })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The app's server functions, each behind `requireSession()` as its middleware puts it. */
const loadDashboard = async (request: Request) => account.loadDashboard(await requireSession(request))
const loadSettings = async (request: Request) => account.loadSettings(await requireSession(request))
const listMyTokens = async (request: Request) => tokens.listMyTokens(await requireSession(request))

interface NewToken {
  readonly name: string
  readonly scopes: ReadonlyArray<string>
  readonly expiresInDays: number
}

/**
 * What the page's "Create token" does: fusion-auth's create endpoint (through the client plugin)
 * runs `tokens.create` with the request's session as `caller`, and the page shows `tryLines`.
 * (The endpoints themselves, over HTTP: the repository's test/token-endpoints.test.ts and e2e.test.ts.)
 */
const createMyToken = async (input: NewToken, request: Request) => {
  const caller = await requireSession(request)
  const expiresAt = new Date(Date.now() + input.expiresInDays * 86_400_000)
  const { token, info } = await library.create({ caller, name: input.name, scopes: input.scopes, expiresAt })
  const value = Redacted.value(token)
  return { token: value, info, curl: tryLines(new URL(request.url).origin, value, info.scopes) }
}

/** What the page's "Revoke" does: the revoke endpoint's `tokens.revoke` of the caller's own token. */
const revokeMyToken = async (tokenId: string, request: Request) => {
  const { user } = await requireSession(request)
  await library.revoke(user.id, tokenId)
}
const listUsers = async (request: Request) => adminServer.listUsers(await requireSession(request))
const setActive = async (input: { userId: string; active: boolean }, request: Request) =>
  adminServer.setActive(await requireSession(request), input)

/** What a call threw (a redirect, a Response, an error), or a failure when it did not throw. */
const thrown = async (call: Promise<unknown>): Promise<unknown> => {
  try {
    await call
  } catch (error) {
    return error
  }
  throw new Error("expected the call to throw")
}

const loginRedirect = async (call: Promise<unknown>): Promise<string | undefined> => {
  const error = await thrown(call)
  assert.isTrue(isRedirect(error), `expected a redirect, got ${String(error)}`)
  return (error as Response & { options: { href?: string } }).options.href
}

/** The 401 `requireSession()` throws at a token caller: status, challenge and body. */
const refusal = async (call: Promise<unknown>) => {
  const error = await thrown(call)
  assert.instanceOf(error, Response)
  const response = error as Response
  return { status: response.status, challenge: response.headers.get("www-authenticate"), body: await response.json() }
}

const json = async (response: Response) => ({ status: response.status, body: await response.json() as Record<string, unknown> })
const pick = ({ body }: { body: Record<string, unknown> }, ...keys: Array<string>) =>
  Object.fromEntries(keys.map((key) => [key, body[key]]))

describe("dashboard and settings", () => {
  it("the dashboard says who the choke point resolved, with the app's role, and by which credential", async () => {
    const { user, cookie } = await signedUp()
    assert.deepStrictEqual(await loadDashboard(at("/dashboard", { cookie })), {
      name: user.name,
      role: "member",
      admin: false,
      caller: `${user.email} (browser session)`
    })
    const { token } = await createMyToken({ name: "dash", scopes: ["read"], expiresInDays: 90 }, at("/settings/tokens", { cookie }))
    assert.include(await loadDashboard(at("/dashboard", bearer(token))), { caller: `${user.email} (API token)` })
  })

  it("settings sends an anonymous browser to the login page and back, and never returns the session token", async () => {
    assert.strictEqual(await loginRedirect(loadSettings(at("/settings?tab=1"))), "/login?redirect=%2Fsettings%3Ftab%3D1")
    const { user, cookie } = await signedUp("admin")
    const settings = await loadSettings(at("/settings", { cookie }))
    assert.include(settings, { email: user.email, role: "admin" })
    assert.notInclude(JSON.stringify(settings), "better-auth-session-token")
  })

  it("a refused token gets a 401, not a login page", async () => {
    assert.deepStrictEqual(await refusal(loadSettings(at("/settings", bearer("sk_live_not-a-token")))), {
      status: 401,
      challenge: `Bearer error="invalid_token"`,
      body: { error: "invalid_token", reason: "InvalidToken" }
    })
  })
})

describe("API tokens", () => {
  it("create shows the token once, with curl lines for this origin; the list has only the hint", async () => {
    const { cookie } = await signedUp()
    const created = await createMyToken({ name: "  CI deploy ", scopes: ["read"], expiresInDays: 30 }, at("/settings/tokens", { cookie }))
    assert.match(created.token, /^sk_live_/)
    assert.deepStrictEqual(created.curl, [
      `curl -H "Authorization: Bearer ${created.token}" http://app.test/api/me`,
      `curl -H "Authorization: Bearer ${created.token}" http://app.test/api/v1/me`
    ])
    const days = (created.info.expiresAt!.getTime() - created.info.createdAt.getTime()) / 86_400_000
    assert.approximately(days, 30, 0.01)
    const { tokens: listed, grantable } = await listMyTokens(at("/settings/tokens", { cookie }))
    assert.deepStrictEqual(listed.map((t) => [t.name, t.hint, t.scopes]), [["CI deploy", created.info.hint, ["read"]]])
    assert.deepStrictEqual(grantable, ["read", "write", "tokens:manage"])
    assert.notInclude(JSON.stringify(listed), created.token)
    assert.notProperty(listed[0]!, "userId")
  })

  it("/api/me answers a token as itself until it is revoked; then the token is refused with 401 invalid_token", async () => {
    const { user, cookie } = await signedUp()
    const { token, info } = await createMyToken({ name: "script", scopes: ["read"], expiresInDays: 90 }, at("/settings/tokens", { cookie }))
    const response = me(await requireSession(at("/api/me", bearer(token))))
    assert.strictEqual(response.headers.get("cache-control"), "no-store")
    assert.deepStrictEqual(await json(response), {
      status: 200,
      body: { id: user.id, email: user.email, name: user.name, role: "member", via: "token", scopes: ["read"] }
    })
    await revokeMyToken(info.id, at("/settings/tokens", { cookie }))
    assert.deepStrictEqual(await refusal(listMyTokens(at("/settings/tokens", bearer(token)))), {
      status: 401,
      challenge: `Bearer error="invalid_token"`,
      body: { error: "invalid_token", reason: "InvalidToken" }
    })
    assert.isNotNull((await listMyTokens(at("/settings/tokens", { cookie }))).tokens[0]!.revokedAt)
  })

  it("nobody revokes another user's token, and a bad name is refused by name", async () => {
    const owner = await signedUp()
    const other = await signedUp()
    const { info } = await createMyToken({ name: "mine", scopes: ["read"], expiresInDays: 7 }, at("/settings/tokens", { cookie: owner.cookie }))
    const error = await thrown(revokeMyToken(info.id, at("/settings/tokens", { cookie: other.cookie })))
    assert.strictEqual((error as { _tag?: string })._tag, "TokenNotFound")
    const bad = await thrown(createMyToken({ name: "   ", scopes: ["read"], expiresInDays: 90 }, at("/settings/tokens", { cookie: owner.cookie })))
    assert.strictEqual((bad as Error).message, "Invalid name: must be 1 to 100 characters")
  })
})

describe("admin", () => {
  it("a site admin lists every user, by cookie or token alike; a member is refused", async () => {
    const siteAdmin = await signedUp("admin")
    const member = await signedUp()
    const { token } = await createMyToken({ name: "admin script", scopes: ["read"], expiresInDays: 90 }, at("/", { cookie: siteAdmin.cookie }))
    for (const headers of [{ cookie: siteAdmin.cookie }, bearer(token)]) {
      const listed = await listUsers(at("/admin", headers))
      assert.strictEqual(listed.me, siteAdmin.user.id)
      assert.includeDeepMembers(listed.users.map((u) => [u.email, u.role]), [[siteAdmin.user.email, "admin"], [member.user.email, "member"]])
    }
    assert.strictEqual((await thrown(listUsers(at("/admin", { cookie: member.cookie })))as Error).message, "Only site admins can do this.")
    assert.strictEqual(await loginRedirect(listUsers(at("/admin"))), "/login?redirect=%2Fadmin")
  })

  it("deactivation locks out the user's cookie and token at once; reactivation lets both back in", async () => {
    const siteAdmin = await signedUp("admin")
    const member = await signedUp()
    const { token } = await createMyToken({ name: "cron", scopes: ["read"], expiresInDays: 90 }, at("/", { cookie: member.cookie }))

    await setActive({ userId: member.user.id, active: false }, at("/admin", { cookie: siteAdmin.cookie }))
    assert.strictEqual(await loginRedirect(loadSettings(at("/settings", { cookie: member.cookie }))), "/login?redirect=%2Fsettings")
    assert.deepStrictEqual(await refusal(loadSettings(at("/settings", bearer(token)))), {
      status: 401,
      challenge: `Bearer error="invalid_token"`,
      body: { error: "invalid_token", reason: "Deactivated" }
    })

    await setActive({ userId: member.user.id, active: true }, at("/admin", { cookie: siteAdmin.cookie }))
    assert.strictEqual((await loadSettings(at("/settings", { cookie: member.cookie }))).email, member.user.email)
    assert.strictEqual((await loadSettings(at("/settings", bearer(token)))).email, member.user.email)
  })

  it("only an admin deactivates, and not their own account", async () => {
    const siteAdmin = await signedUp("admin")
    const member = await signedUp()
    const refused = await thrown(setActive({ userId: siteAdmin.user.id, active: false }, at("/admin", { cookie: member.cookie })))
    assert.strictEqual((refused as Error).message, "Only site admins can do this.")
    const self = await thrown(setActive({ userId: siteAdmin.user.id, active: false }, at("/admin", { cookie: siteAdmin.cookie })))
    assert.strictEqual((self as Error).message, "You cannot deactivate your own account.")
    const missing = await thrown(setActive({ userId: "nobody", active: false }, at("/admin", { cookie: siteAdmin.cookie })))
    assert.strictEqual((missing as { _tag?: string })._tag, "UserNotFound")
  })
})

describe("token scopes", () => {
  const create = (scopes: ReadonlyArray<string>, headers: Record<string, string>) =>
    createMyToken({ name: "scoped", scopes, expiresInDays: 30 }, at("/settings/tokens", headers))

  it("a user grants only what they may; an unknown scope is refused by name", async () => {
    const siteAdmin = await signedUp("admin")
    const member = await signedUp()
    assert.deepStrictEqual((await listMyTokens(at("/", { cookie: siteAdmin.cookie }))).grantable, ["read", "write", "admin:users", "tokens:manage"])
    assert.deepStrictEqual((await create(["read", "admin:users"], { cookie: siteAdmin.cookie })).info.scopes, ["read", "admin:users"])

    // fusion-auth's rule, with the session as `caller`: nobody mints a right they do not hold.
    const beyond = await thrown(create(["read", "admin:users"], { cookie: member.cookie }))
    assert.deepStrictEqual([(beyond as Error).name, (beyond as Error).message], ["InsufficientScope", "Missing scope admin:users"])
    assert.include(beyond as object, { scope: "admin:users", credential: "cookie" })
    const unknown = await thrown(create(["read", "root"], { cookie: siteAdmin.cookie }))
    assert.strictEqual((unknown as Error).message, `Invalid scopes: unknown scope "root"`)
    assert.deepStrictEqual((await listMyTokens(at("/", { cookie: member.cookie }))).tokens, [])
  })

  it("a token makes tokens only with tokens:manage, and only within its own scopes", async () => {
    const siteAdmin = await signedUp("admin")
    const { token: plain } = await create(["read"], { cookie: siteAdmin.cookie })
    assert.include(await thrown(create(["read"], bearer(plain))) as object, { _tag: "InsufficientScope", scope: "tokens:manage", credential: "token" })
    const { token } = await create(["read", "tokens:manage"], { cookie: siteAdmin.cookie })
    assert.deepStrictEqual((await create(["read"], bearer(token))).info.scopes, ["read"])
    const refused = await thrown(create(["read", "admin:users"], bearer(token)))
    assert.include(refused as object, { _tag: "InsufficientScope", scope: "admin:users", credential: "token" })
    assert.strictEqual((await listMyTokens(at("/", { cookie: siteAdmin.cookie }))).tokens.length, 3)
  })

  it("GET /api/v1/admin/users needs admin:users: a token without it, or a member's browser, gets 403", async () => {
    const api = makeApiHandler(Layer.effectContext(runtime.contextEffect).pipe(Layer.orDie))
    try {
      const admin = await signedUp("admin")
      const member = await signedUp()
      const readOnly = await create(["read"], { cookie: admin.cookie })
      const scoped = await create(["admin:users"], { cookie: admin.cookie })
      assert.deepStrictEqual(scoped.curl.map((line) => line.split(" ").at(-1)), [
        "http://app.test/api/me",
        "http://app.test/api/v1/me",
        "http://app.test/api/v1/admin/users"
      ])

      const lacking = await api.handler(at("/api/v1/admin/users", bearer(readOnly.token)))
      assert.strictEqual(lacking.headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="admin:users"`)
      assert.deepStrictEqual(await json(lacking), { status: 403, body: { error: "insufficient_scope", scope: "admin:users" } })
      const browser = await api.handler(at("/api/v1/admin/users", { cookie: member.cookie }))
      assert.strictEqual(browser.headers.get("www-authenticate"), null)
      assert.strictEqual(browser.status, 403)

      for (const headers of [bearer(scoped.token), { cookie: admin.cookie }]) {
        const listed = await json(await api.handler(at("/api/v1/admin/users", headers)))
        assert.strictEqual(listed.status, 200)
        assert.includeMembers((listed.body as unknown as Array<{ email: string }>).map((u) => u.email), [admin.user.email, member.user.email])
      }
    } finally {
      await api.dispose()
    }
  })
})

describe("the Effect HttpApi under /api/v1", () => {
  it("runs on the app's runtime: the same resolver answers for a token, a cookie and nobody", async () => {
    const api = makeApiHandler(Layer.effectContext(runtime.contextEffect).pipe(Layer.orDie))
    try {
      const { user, cookie } = await signedUp()
      const { token, info } = await createMyToken({ name: "v1", scopes: ["read"], expiresInDays: 90 }, at("/", { cookie }))
      const viaToken = await json(await api.handler(at("/api/v1/me", bearer(token))))
      assert.deepStrictEqual(viaToken, {
        status: 200,
        body: { id: user.id, email: user.email, name: user.name, role: "member", via: "token", scopes: ["read"] }
      })
      assert.deepStrictEqual(pick(await json(await api.handler(at("/api/v1/me", { cookie }))), "via", "scopes"), {
        via: "cookie",
        scopes: ["read", "write", "tokens:manage"]
      })
      const listed = await json(await api.handler(at("/api/v1/tokens", bearer(token))))
      assert.deepStrictEqual((listed.body as unknown as Array<{ hint: string }>).map((t) => t.hint), [info.hint])

      const anonymous = await api.handler(at("/api/v1/me"))
      assert.strictEqual(anonymous.headers.get("www-authenticate"), "Bearer")
      assert.deepStrictEqual(await json(anonymous), { status: 401, body: { error: "unauthorized", reason: "Anonymous" } })
    } finally {
      await api.dispose()
    }
  })

  it("handlers see whatever session a test layer provides, or its refusal", async () => {
    const now = new Date(0)
    const ada = { id: "ada", email: "ada@example.com", name: "Ada", emailVerified: true, createdAt: now, updatedAt: now, role: "admin" }
    const services = (resolver: Layer.Layer<InstanceType<typeof SessionResolver>>) => Layer.merge(resolver, Stores.layerMemory.pipe(Layer.provide(Stores.settings())))
    const signedIn = makeApiHandler(services(SessionResolver.layerTest({ user: ada, session: null, scopes: ["read"] })))
    const revoked = makeApiHandler(services(SessionResolver.layerTest(new InvalidToken({ reason: "revoked" }))))
    try {
      assert.deepStrictEqual(await json(await signedIn.handler(at("/api/v1/me"))), {
        status: 200,
        body: { id: "ada", email: "ada@example.com", name: "Ada", role: "admin", via: "token", scopes: ["read"] }
      })
      // An admin, but this token lacks the scope: 403 with the RFC 6750 challenge.
      const lacking = await signedIn.handler(at("/api/v1/admin/users"))
      assert.strictEqual(lacking.headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="admin:users"`)
      assert.deepStrictEqual(await json(lacking), { status: 403, body: { error: "insufficient_scope", scope: "admin:users" } })
      const refused = await revoked.handler(at("/api/v1/me"))
      assert.strictEqual(refused.headers.get("www-authenticate"), `Bearer error="invalid_token"`)
      assert.deepStrictEqual(await json(refused), { status: 401, body: { error: "invalid_token", reason: "InvalidToken" } })
    } finally {
      await Promise.all([signedIn.dispose(), revoked.dispose()])
    }
  })
})
