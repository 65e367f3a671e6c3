/**
 * The app's own server code with swapped layers and no database: the real choke point over
 * memory stores (test/support/auth.ts stands in for src/lib/auth.ts), called the way its
 * server functions call it, with the Request passed in instead of TanStack Start's.
 */
import { assert, describe, it } from "@effect/vitest"
import { isRedirect } from "@tanstack/react-router"
import { Layer } from "effect"
import { vi } from "vitest"

// The root vitest config has no alias for the library: point `fusion-auth` at this repo's source.
vi.mock("#/lib/auth", () => import("./support/auth.ts"))

const { InvalidToken } = await import("fusion-auth")
const { SessionResolver, Stores } = await import("fusion-auth/testing")
const { runtime, signedUp } = await import("./support/auth.ts")
const { loadDashboard, loadSettings } = await import("#/server/account")
const { createMyToken, listMyTokens, revokeMyToken } = await import("#/server/tokens")
const { setActive } = await import("#/server/admin")
const { requireSiteAdmin } = await import("#/lib/admin")
const { me } = await import("#/server/me")
const { makeApiHandler } = await import("#/server/api")
const { loginThenBackTo } = await import("#/lib/login")

const at = (path: string, headers: Record<string, string> = {}) => new Request(`http://app.test${path}`, { headers })
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

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

const json = async (response: Response) => ({ status: response.status, body: await response.json() as Record<string, unknown> })
const pick = ({ body }: { body: Record<string, unknown> }, ...keys: Array<string>) =>
  Object.fromEntries(keys.map((key) => [key, body[key]]))

describe("dashboard and settings", () => {
  it("the dashboard shows anonymous and signed-in callers, and says which credential", async () => {
    const { user, cookie } = await signedUp()
    assert.deepStrictEqual(await loadDashboard(at("/dashboard")), { signedIn: false })
    const viaCookie = await loadDashboard(at("/dashboard", { cookie }))
    assert.include(viaCookie, { signedIn: true, email: user.email, role: "member", caller: `${user.email} (browser session)` })
    const { token } = await createMyToken({ name: "dash", scopes: ["read"], expiresInDays: 90 }, at("/settings/tokens", { cookie }))
    assert.include(await loadDashboard(at("/dashboard", bearer(token))), { caller: `${user.email} (API token)` })
  })

  it("settings sends an anonymous browser to the login page and back, and never returns the session token", async () => {
    assert.strictEqual(await loginRedirect(loadSettings(at("/settings?tab=1"))), "/login?redirect=%2Fsettings%3Ftab%3D1")
    const { user, cookie } = await signedUp()
    const settings = await loadSettings(at("/settings", { cookie }))
    assert.strictEqual(settings.email, user.email)
    assert.notInclude(JSON.stringify(settings), "better-auth-session-token")
  })

  it("a refused token gets a 401, not a login page", async () => {
    const error = await thrown(loadSettings(at("/settings", bearer("sk_live_not-a-token"))))
    assert.instanceOf(error, Response)
    assert.strictEqual((error as Response).status, 401)
    assert.strictEqual((error as Response).headers.get("www-authenticate"), `Bearer error="invalid_token"`)
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
    assert.deepStrictEqual(grantable, ["read", "write"])
    assert.notInclude(JSON.stringify(listed), created.token)
    assert.notProperty(listed[0]!, "userId")
  })

  it("a token calls /api/me until it is revoked, then gets 401 invalid_token", async () => {
    const { user, cookie } = await signedUp()
    const { token, info } = await createMyToken({ name: "script", scopes: ["read"], expiresInDays: 90 }, at("/settings/tokens", { cookie }))
    assert.deepStrictEqual(await json(await me(at("/api/me", bearer(token)))), {
      status: 200,
      body: { id: user.id, email: user.email, name: user.name, role: "member", via: "token", scopes: ["read"] }
    })
    await revokeMyToken(info.id, at("/settings/tokens", { cookie }))
    const refused = await me(at("/api/me", bearer(token)))
    assert.strictEqual(refused.headers.get("www-authenticate"), `Bearer error="invalid_token"`)
    assert.deepStrictEqual(await json(refused), { status: 401, body: { error: "invalid_token", reason: "InvalidToken" } })
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
  it("requireSiteAdmin lets an admin through and refuses a member, by cookie or token alike", async () => {
    const admin = await signedUp("admin")
    const member = await signedUp()
    assert.strictEqual((await requireSiteAdmin(at("/admin", { cookie: admin.cookie }))).user.id, admin.user.id)
    assert.strictEqual((await thrown(requireSiteAdmin(at("/admin", { cookie: member.cookie })))as Error).name, "Forbidden")
    const { token } = await createMyToken({ name: "admin script", scopes: ["read"], expiresInDays: 90 }, at("/", { cookie: admin.cookie }))
    assert.strictEqual((await requireSiteAdmin(at("/admin", bearer(token)))).session, null)
    assert.strictEqual(await loginRedirect(requireSiteAdmin(at("/admin"))), "/login?redirect=%2Fadmin")
  })

  it("deactivation locks out the user's cookie and token at once; reactivation lets both back in", async () => {
    const admin = await signedUp("admin")
    const member = await signedUp()
    const { token } = await createMyToken({ name: "cron", scopes: ["read"], expiresInDays: 90 }, at("/", { cookie: member.cookie }))

    await setActive({ userId: member.user.id, active: false }, at("/admin", { cookie: admin.cookie }))
    assert.strictEqual(await loginRedirect(loadSettings(at("/settings", { cookie: member.cookie }))), "/login?redirect=%2Fsettings")
    assert.deepStrictEqual(await json(await me(at("/api/me", bearer(token)))), {
      status: 401,
      body: { error: "invalid_token", reason: "Deactivated" }
    })

    await setActive({ userId: member.user.id, active: true }, at("/admin", { cookie: admin.cookie }))
    assert.strictEqual((await loadSettings(at("/settings", { cookie: member.cookie }))).email, member.user.email)
    assert.strictEqual((await me(at("/api/me", bearer(token)))).status, 200)
  })

  it("only an admin deactivates, and not their own account", async () => {
    const admin = await signedUp("admin")
    const member = await signedUp()
    const forbidden = await thrown(setActive({ userId: admin.user.id, active: false }, at("/admin", { cookie: member.cookie })))
    assert.strictEqual((forbidden as Error).name, "Forbidden")
    const self = await thrown(setActive({ userId: admin.user.id, active: false }, at("/admin", { cookie: admin.cookie })))
    assert.strictEqual((self as Error).message, "You cannot deactivate your own account.")
    const missing = await thrown(setActive({ userId: "nobody", active: false }, at("/admin", { cookie: admin.cookie })))
    assert.strictEqual((missing as { _tag?: string })._tag, "UserNotFound")
  })
})

describe("token scopes", () => {
  const create = (scopes: ReadonlyArray<string>, headers: Record<string, string>) =>
    createMyToken({ name: "scoped", scopes, expiresInDays: 30 }, at("/settings/tokens", headers))

  it("a user grants only what they may; an unknown scope is refused by name", async () => {
    const admin = await signedUp("admin")
    const member = await signedUp()
    assert.deepStrictEqual((await listMyTokens(at("/", { cookie: admin.cookie }))).grantable, ["read", "write", "admin:users"])
    assert.deepStrictEqual((await create(["read", "admin:users"], { cookie: admin.cookie })).info.scopes, ["read", "admin:users"])

    const beyond = await thrown(create(["read", "admin:users"], { cookie: member.cookie }))
    assert.deepStrictEqual([(beyond as Error).name, (beyond as Error).message], [
      "InvalidTokenInput",
      "Invalid scopes: the owner may not grant admin:users"
    ])
    const unknown = await thrown(create(["read", "root"], { cookie: admin.cookie }))
    assert.strictEqual((unknown as Error).message, `Invalid scopes: unknown scope "root"`)
    assert.deepStrictEqual((await listMyTokens(at("/", { cookie: member.cookie }))).tokens, [])
  })

  it("a token makes tokens only within its own scopes", async () => {
    const admin = await signedUp("admin")
    const { token } = await create(["read"], { cookie: admin.cookie })
    assert.deepStrictEqual((await create(["read"], bearer(token))).info.scopes, ["read"])
    const refused = await thrown(create(["read", "admin:users"], bearer(token)))
    assert.instanceOf(refused, Response)
    assert.strictEqual((refused as Response).status, 403)
    assert.strictEqual((refused as Response).headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="admin:users"`)
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
        scopes: ["read", "write"]
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
    const services = (resolver: Layer.Layer<InstanceType<typeof SessionResolver>>) => Layer.merge(resolver, Stores.layerMemory)
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

describe("the login redirect a page re-aims at itself", () => {
  it("replaces the server function's own path with the page's", async () => {
    const { redirect } = await import("@tanstack/react-router")
    const fromServerFn = redirect({ href: "/login?redirect=%2F_serverFn%2Fabc", statusCode: 302 })
    const rethrown = (() => {
      try {
        loginThenBackTo("/settings/tokens?x=1")(fromServerFn)
      } catch (error) {
        return error as Response & { options: { to?: string; search?: unknown } }
      }
    })()
    assert.deepStrictEqual([rethrown?.options.to, rethrown?.options.search], ["/login", { redirect: "/settings/tokens?x=1" }])
    const other = new Error("boom")
    assert.throws(() => loginThenBackTo("/x")(other), "boom")
  })
})
