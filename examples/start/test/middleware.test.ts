/**
 * fusion-auth's TanStack Start middleware in the example, on the real Vite dev server with
 * real Better Auth: the server functions are called over their RPC endpoint exactly as
 * Start's client calls them, and `/api/me` as any HTTP client would.
 *
 * - `requireSessionMiddleware` (the /settings loader's server function): the caller's
 *   session with the app's `role`; no credential: the login redirect back to the calling
 *   page; a refused token: 401 with its challenge. (A full page load: page-loader.test.ts.)
 * - `sessionMiddleware` (the root's, for the navigation bar): `null` for a browser without a
 *   session, but a refused token still gets its 401.
 * - `requireSessionRequestMiddleware` (`/api/me`): cookie and token 200, every refusal 401; a
 *   session due for refresh is renewed by Better Auth, its cookie set on the response.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { fromCrossJSON } from "seroval"
import { type Account, bearer, startDevWithLibrary } from "./support/dev-app.ts"

let dev: Awaited<ReturnType<typeof startDevWithLibrary>>
let admin: Account
let loadSettings: string
let loadUser: string

/** A server function's successful answer, decoded as Start's client decodes it. */
const resultOf = async (response: Response): Promise<unknown> => {
  assert.strictEqual(response.status, 200)
  assert.strictEqual(response.headers.get("x-tss-serialized"), "true")
  return (fromCrossJSON(await response.json(), { refs: new Map() }) as { result: unknown }).result
}

/** An HTTP answer: status, challenge and JSON body. */
const answer = async (response: Response) => ({
  status: response.status,
  challenge: response.headers.get("www-authenticate"),
  body: (await response.json()) as unknown
})

const invalidToken = (reason: string) => ({
  status: 401,
  challenge: `Bearer error="invalid_token"`,
  body: { error: "invalid_token", reason }
})

beforeAll(async () => {
  dev = await startDevWithLibrary()
  admin = await dev.signUp("Admin") // the first account: the site admin
  loadSettings = await dev.serverFnId("/src/routes/_authed/settings/index.tsx", "loadSettingsFn")
  loadUser = await dev.serverFnId("/src/routes/__root.tsx", "loadUser")
}, 180_000)

afterAll(async () => {
  await dev?.stop()
})

describe("requireSessionMiddleware on a server function", () => {
  it("gives the handler the caller's session, typed and filled with the app's role, for a cookie or a token", async () => {
    const member = await dev.signUp("Member")
    assert.include(await resultOf(await dev.rpc(loadSettings, { cookie: admin.cookie })), { email: admin.email, role: "admin" })
    const viaCookie = await resultOf(await dev.rpc(loadSettings, { cookie: member.cookie }))
    assert.include(viaCookie, { name: "Member", email: member.email, role: "member" })
    assert.instanceOf((viaCookie as { sessionExpires: unknown }).sessionExpires, Date)

    const { token } = await dev.tokenFor(member.id)
    assert.deepInclude(await resultOf(await dev.rpc(loadSettings, bearer(token))), {
      email: member.email,
      role: "member",
      sessionExpires: null // a token has no browser session
    })
  })

  it("no credential: a 302 to the login page, back to the page that called it", async () => {
    const response = await dev.rpc(loadSettings, {}, "/settings?tab=profile")
    assert.deepStrictEqual(await response.json(), {
      href: "/login?redirect=%2Fsettings%3Ftab%3Dprofile",
      statusCode: 302,
      isSerializedRedirect: true
    })
  })

  it("a revoked token: 401 with the invalid_token challenge, never the login page", async () => {
    const member = await dev.signUp("Revoked")
    const { token, id } = await dev.tokenFor(member.id)
    assert.strictEqual((await dev.rpc(loadSettings, bearer(token))).status, 200)
    await dev.tokens.revoke(member.id, id)

    const response = await dev.rpc(loadSettings, bearer(token))
    assert.strictEqual(response.headers.get("x-tss-raw"), "thrown")
    assert.isNull(response.headers.get("location"))
    assert.deepStrictEqual(await answer(response), invalidToken("InvalidToken"))
  })

  it("a deactivated user: the login page for their browser, 401 Deactivated for their token", async () => {
    const member = await dev.signUp("Leaver")
    const { token } = await dev.tokenFor(member.id)
    await dev.users.deactivate(member.id, admin.id)
    assert.deepInclude(await (await dev.rpc(loadSettings, { cookie: member.cookie }, "/settings")).json(), {
      href: "/login?redirect=%2Fsettings",
      isSerializedRedirect: true
    })
    assert.deepStrictEqual(await answer(await dev.rpc(loadSettings, bearer(token))), invalidToken("Deactivated"))
  })
})

describe("sessionMiddleware on a server function", () => {
  it("the session, or null for a browser without one; a refused token still gets its 401", async () => {
    const member = await dev.signUp("Browser")
    assert.deepStrictEqual(await resultOf(await dev.rpc(loadUser, { cookie: member.cookie })), { email: member.email, admin: false })
    assert.deepStrictEqual(await resultOf(await dev.rpc(loadUser, { cookie: admin.cookie })), { email: admin.email, admin: true })
    assert.isNull(await resultOf(await dev.rpc(loadUser, {})))
    assert.isNull(await resultOf(await dev.rpc(loadUser, { cookie: "better-auth.session_token=forged.value" })))
    assert.deepStrictEqual(await answer(await dev.rpc(loadUser, bearer("sk_live_not-a-token"))), invalidToken("InvalidToken"))
  })
})

describe("requireSessionRequestMiddleware on a server route (/api/me)", () => {
  const me = (headers: Record<string, string> = {}) => fetch(`${dev.url}/api/me`, { headers })

  it("a cookie and a token get 200 with the caller, the app's role included", async () => {
    const member = await dev.signUp("Caller")
    const { token } = await dev.tokenFor(member.id)
    const caller = { id: member.id, email: member.email, name: "Caller", role: "member" }
    assert.deepStrictEqual(await answer(await me({ cookie: member.cookie })), {
      status: 200,
      challenge: null,
      body: { ...caller, via: "cookie", scopes: ["read", "write", "tokens:manage"] }
    })
    assert.deepStrictEqual(await answer(await me(bearer(token))), {
      status: 200,
      challenge: null,
      body: { ...caller, via: "token", scopes: ["read"] }
    })
  })

  it("anonymous, a malformed, revoked or deactivated user's token: 401 from errorResponse", async () => {
    assert.deepStrictEqual(await answer(await me()), {
      status: 401,
      challenge: "Bearer",
      body: { error: "unauthorized", reason: "Anonymous" }
    })
    assert.deepStrictEqual(await answer(await me(bearer("sk_live_not-a-token"))), invalidToken("InvalidToken"))

    const member = await dev.signUp("Refused")
    const revoked = await dev.tokenFor(member.id)
    const kept = await dev.tokenFor(member.id)
    await dev.tokens.revoke(member.id, revoked.id)
    assert.deepStrictEqual(await answer(await me(bearer(revoked.token))), invalidToken("InvalidToken"))
    assert.strictEqual((await me(bearer(kept.token))).status, 200)
    await dev.users.deactivate(member.id, admin.id)
    assert.deepStrictEqual(await answer(await me(bearer(kept.token))), invalidToken("Deactivated"))
    assert.deepStrictEqual(await answer(await me({ cookie: member.cookie })), {
      status: 401,
      challenge: "Bearer",
      body: { error: "unauthorized", reason: "Deactivated" }
    })
  })
})

describe("a session due for refresh (/api/me)", () => {
  const sessionCookie = (headers: Headers) => headers.getSetCookie().find((c) => c.startsWith("better-auth.session_token="))

  it("Better Auth extends it, and tanstackStartCookies() puts the renewed cookie on the response; the next request needs none", async () => {
    const member = await dev.signUp("Renewed")
    const token = decodeURIComponent(member.cookie.match(/better-auth\.session_token=([^;]+)/)![1]!).split(".")[0]
    // A 7-day session with a day's updateAge: due once less than 6 days are left.
    await dev.sql(`update "session" set "expiresAt" = $1 where "token" = $2`, [new Date(Date.now() + 6 * 86_400_000 - 60_000), token])
    const renewed = await fetch(`${dev.url}/api/me`, { headers: { cookie: member.cookie } })
    assert.strictEqual(renewed.status, 200)
    assert.strictEqual(((await renewed.json()) as { id: string }).id, member.id)
    const cookie = sessionCookie(renewed.headers)
    assert.isDefined(cookie, "the renewed session cookie is set on the route's response")
    assert.match(cookie!, /Max-Age=604800/)
    const { rows } = await dev.sql(`select "expiresAt" from "session" where "token" = $1`, [token])
    assert.isAbove((rows[0] as { expiresAt: Date }).expiresAt.getTime(), Date.now() + 6.9 * 86_400_000)

    const next = await fetch(`${dev.url}/api/me`, { headers: { cookie: member.cookie } })
    assert.strictEqual(next.status, 200)
    assert.isUndefined(sessionCookie(next.headers))
  })
})

describe("secrets", () => {
  it("no token or session cookie reaches the dev server's output", async () => {
    const member = await dev.signUp("Quiet")
    const { token, id } = await dev.tokenFor(member.id)
    await dev.rpc(loadSettings, bearer(token))
    await dev.tokens.revoke(member.id, id)
    await dev.rpc(loadSettings, bearer(token))
    await fetch(`${dev.url}/api/me`, { headers: bearer(token) })
    const output = dev.app.output()
    assert.notInclude(output, token)
    assert.notInclude(output, member.cookie.split("=")[1]!)
  })
})
