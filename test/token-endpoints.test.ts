/**
 * The plugin's token endpoints through Better Auth's real `createAuthClient` and the
 * `fusionAuthClient()` plugin, against `auth.handler` behind a real HTTP listener, on PGlite
 * and real Postgres: the caller's own tokens listed, created, revoked and rotated under the
 * library's rules, as a browser (cookie) and as a script (a Bearer token of the app's prefix).
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { createAuthClient } from "better-auth/client"
import { afterAll, beforeAll } from "vitest"
import { ApiToken } from "../src/effect.ts"
import { fusionAuthClient } from "../src/client.ts"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"
import { type Served, serve } from "./support/http.ts"
import { testPassword } from "./support/password.ts"

const PASSWORD = "correct horse battery staple"
const acme = ApiToken.format("acme_", ["sk_live_"])

const makeApp = (dbUrl: string, baseURL: string) => {
  const pool = testPool(dbUrl)
  const auth = betterAuth({
    database: pool,
    secret: "endpoints-secret-endpoints-secret-0123",
    baseURL,
    telemetry: { enabled: false },
    logger: { disabled: true },
    rateLimit: { enabled: false },
    emailAndPassword: { enabled: true, password: testPassword },
    plugins: [fusionAuth()]
  })
  const session = createAuthSession(auth, {
    database: { url: dbUrl },
    tokens: {
      scopes: ["read", "write", "admin:users"],
      grantable: (user) => (user.email.startsWith("admin") ? ["read", "write", "admin:users"] : ["read", "write"]),
      maxLifetime: "30 days",
      maxLiveTokensPerUser: 4,
      prefix: "acme_",
      legacyPrefixes: ["sk_live_"]
    }
  })
  return { auth, pool, session }
}

for (const backend of sqlBackends) {
  describe(`token endpoints through createAuthClient: ${backend.name}`, () => {
    let db: TestDatabase
    let server: Served
    let app: ReturnType<typeof makeApp>
    let n = 0

    beforeAll(async () => {
      db = await backend.make()
      server = await serve((request) => app.auth.handler(request))
      app = makeApp(db.url, server.url)
      await migrate(app.auth, { url: db.url })
    }, 120_000)
    afterAll(async () => {
      await app?.session.dispose()
      await app?.pool.end()
      await server?.close()
      await db?.close()
    })

    /** A client that sends these headers with every call: a browser's cookie, or a script's token. */
    const client = (headers: Record<string, string> = {}) =>
      createAuthClient({ baseURL: server.url, plugins: [fusionAuthClient()], fetchOptions: { headers: { origin: server.url, ...headers } } })
    const bearer = (token: string) => client({ authorization: `Bearer ${token}` })

    /** Signs up over Better Auth's HTTP API; a client with the browser's cookie. */
    const signUp = async (label: string) => {
      const email = `${label}${++n}.${backend.name}@example.com`
      const response = await fetch(`${server.url}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: server.url },
        body: JSON.stringify({ email, password: PASSWORD, name: label })
      })
      assert.strictEqual(response.status, 200, await response.clone().text())
      const { user } = (await response.json()) as { user: { id: string } }
      const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
      return { id: user.id, email, cookie, browser: client({ cookie }) }
    }

    const resolve = (token: string) => app.session.getSession(new Headers({ authorization: `Bearer ${token}` }))

    it("a browser lists, creates, rotates and revokes its own tokens; each is the app's prefix and works at once", async () => {
      const { id, browser } = await signUp("member")
      const empty = await browser.fusionAuth.tokens.list()
      assert.deepStrictEqual(empty.data, { tokens: [], scopes: ["read", "write", "tokens:manage"] })

      const created = await browser.fusionAuth.tokens.create({ name: "deploy", scopes: ["read"], expiresIn: 7 * 86_400 })
      assert.isNull(created.error)
      const { token, info } = created.data!
      assert.isDefined(acme.parse(token))
      assert.match(token, /^acme_/)
      assert.deepInclude(info, { userId: id, name: "deploy", hint: `acme_…${token.slice(-4)}`, scopes: ["read"], revokedAt: null })
      assert.instanceOf(info.expiresAt, Date) // revived by Better Auth's client
      assert.approximately(info.expiresAt!.getTime() - Date.now(), 7 * 86_400_000, 60_000)
      assert.strictEqual((await resolve(token))!.user.id, id)

      const listed = await browser.fusionAuth.tokens.list()
      assert.deepStrictEqual(listed.data!.tokens.map((t) => [t.id, t.name, t.hint]), [[info.id, "deploy", info.hint]])
      assert.notInclude(JSON.stringify(listed.data), token)

      const rotated = await browser.fusionAuth.tokens.rotate({ tokenId: info.id, gracePeriod: 3600 })
      assert.isNull(rotated.error)
      assert.deepInclude(rotated.data!.info, { name: "deploy", scopes: ["read"] })
      assert.strictEqual((await resolve(rotated.data!.token))!.user.id, id)
      assert.strictEqual((await resolve(token))!.user.id, id, "the old secret works for its grace period")

      const revoked = await browser.fusionAuth.tokens.revoke({ tokenId: rotated.data!.info.id })
      assert.instanceOf(revoked.data!.revokedAt, Date)
      assert.isNull(await resolve(rotated.data!.token))

      const events = await app.session.audit.list({ userId: id })
      assert.deepStrictEqual(events.map((e) => [e.action, e.actorId]), [
        ["token.revoked", id], ["token.rotated", id], ["token.created", id]
      ])
      for (const event of events) assert.notInclude(event.detail ?? "", token)
    })

    it("a script with a token manages the same user's tokens only with tokens:manage, and never mints or rotates beyond its own scopes", async () => {
      const admin = await signUp("admin")
      const full = (await admin.browser.fusionAuth.tokens.create({ name: "ops", scopes: ["read", "admin:users"] })).data!
      const readOnly = (await admin.browser.fusionAuth.tokens.create({ name: "ro", scopes: ["read", "tokens:manage"] })).data!
      const script = bearer(readOnly.token)

      // Without the management scope, a token (even one with every other scope) manages nothing.
      const unmanaged = bearer(full.token)
      for (const refused of [
        await unmanaged.fusionAuth.tokens.list(),
        await unmanaged.fusionAuth.tokens.create({ name: "child" }),
        await unmanaged.fusionAuth.tokens.revoke({ tokenId: readOnly.info.id }),
        await unmanaged.fusionAuth.tokens.rotate({ tokenId: full.info.id })
      ]) {
        assert.deepInclude(refused.error as object, { status: 403, code: "INSUFFICIENT_SCOPE", scope: "tokens:manage" })
      }
      assert.deepStrictEqual((await admin.browser.fusionAuth.tokens.list()).data!.tokens.map((t) => [t.name, t.revokedAt, t.replacedBy]), [
        ["ops", null, null],
        ["ro", null, null]
      ])

      const listed = await script.fusionAuth.tokens.list()
      assert.deepStrictEqual(listed.data!.scopes, ["read", "tokens:manage"])
      assert.deepStrictEqual(listed.data!.tokens.map((t) => t.name), ["ops", "ro"])

      const beyond = await script.fusionAuth.tokens.create({ name: "escalate", scopes: ["admin:users"] })
      assert.strictEqual(beyond.error?.status, 403)
      assert.deepInclude(beyond.error as object, { code: "INSUFFICIENT_SCOPE", message: "Missing scope admin:users", scope: "admin:users" })
      const rotateBeyond = await script.fusionAuth.tokens.rotate({ tokenId: full.info.id })
      assert.deepInclude(rotateBeyond.error, { status: 403, code: "INSUFFICIENT_SCOPE" })
      assert.isNull((await admin.browser.fusionAuth.tokens.list()).data!.tokens.find((t) => t.id === full.info.id)!.replacedBy)

      const within = await script.fusionAuth.tokens.create({ name: "narrower", scopes: ["read"] })
      assert.deepStrictEqual(within.data!.info.scopes, ["read"])
      assert.strictEqual((await resolve(within.data!.token))!.user.id, admin.id)
      // The admin's own browser may grant what the admin may grant.
      assert.deepStrictEqual((await admin.browser.fusionAuth.tokens.list()).data!.scopes, ["read", "write", "admin:users", "tokens:manage"])
    })

    it("refuses with stable codes: unauthenticated 401, a bad or deactivated credential 401, another's token 404", async () => {
      for (const anonymous of [client(), bearer(`acme_${"A".repeat(38)}`)]) {
        const list = await anonymous.fusionAuth.tokens.list()
        assert.strictEqual(list.error?.status, 401)
        assert.oneOf(list.error?.code, ["UNAUTHORIZED", "INVALID_TOKEN"])
        assert.isNull(list.data)
      }
      const raw = await fetch(`${server.url}/api/auth/fusion-auth/tokens/list`)
      assert.deepStrictEqual([raw.status, raw.headers.get("www-authenticate")], [401, "Bearer"])
      const bad = await fetch(`${server.url}/api/auth/fusion-auth/tokens/list`, { headers: { authorization: "Bearer sk_live_nope" } })
      assert.deepStrictEqual([bad.status, bad.headers.get("www-authenticate"), ((await bad.json()) as { code: string }).code], [
        401, `Bearer error="invalid_token"`, "INVALID_TOKEN"
      ])

      const owner = await signUp("owner")
      const other = await signUp("other")
      const theirs = (await other.browser.fusionAuth.tokens.create({ name: "theirs" })).data!
      const notMine = await owner.browser.fusionAuth.tokens.revoke({ tokenId: theirs.info.id })
      assert.deepInclude(notMine.error, { status: 404, code: "TOKEN_NOT_FOUND" })
      assert.isNotNull(await resolve(theirs.token))

      await app.session.users.deactivate(other.id)
      for (const caller of [other.browser, bearer(theirs.token)]) {
        const refused = await caller.fusionAuth.tokens.create({ name: "after" })
        assert.deepInclude(refused.error, { status: 401, code: "USER_DEACTIVATED" })
      }
      assert.strictEqual((await app.session.tokens.list(other.id)).length, 1, "nothing was created")
    })

    it("the live-token limit holds at the rotate endpoint: at the limit a grace is refused (400 naming userId), a swap is not", async () => {
      const { id, browser } = await signUp("limited")
      const made = await Promise.all(["a", "b", "c", "d"].map(async (name) =>
        (await browser.fusionAuth.tokens.create({ name, scopes: name === "a" ? ["tokens:manage"] : [] })).data!))
      const atLimit = await browser.fusionAuth.tokens.create({ name: "e" })
      assert.deepInclude(atLimit.error, { status: 400, code: "INVALID_TOKEN_INPUT" })
      // A token with tokens:manage is a door too: neither mints past the limit by rotating with a grace.
      for (const caller of [browser, bearer(made[0]!.token)]) {
        const graced = await caller.fusionAuth.tokens.rotate({ tokenId: made[1]!.info.id, gracePeriod: 30 * 86_400 })
        assert.deepInclude(graced.error, { status: 400, code: "INVALID_TOKEN_INPUT" })
        assert.match(graced.error!.message!, /userId: already holds 4 live tokens, the most allowed; rotate with no grace period/)
      }
      assert.isNull((await app.session.tokens.list(id)).find((t) => t.id === made[1]!.info.id)!.replacedBy, "nothing rotated")
      const swapped = await browser.fusionAuth.tokens.rotate({ tokenId: made[1]!.info.id })
      assert.isNull(swapped.error)
      assert.isNull(await resolve(made[1]!.token), "the old token ended as its successor started")
      assert.strictEqual((await resolve(swapped.data!.token))!.user.id, id)
    })

    it("a leaked token with tokens:manage cannot outlive its revocation: it cannot rotate itself, and what it minted or rotated dies with it", async () => {
      const { id, browser } = await signUp("leaky")
      const leaked = (await browser.fusionAuth.tokens.create({ name: "leaked", scopes: ["read", "tokens:manage"] })).data!
      const sibling = (await browser.fusionAuth.tokens.create({ name: "sibling", scopes: ["read"] })).data!
      const thief = bearer(leaked.token)
      const itself = await thief.fusionAuth.tokens.rotate({ tokenId: leaked.info.id, gracePeriod: 3600 })
      assert.deepInclude(itself.error, { status: 400, code: "INVALID_TOKEN_INPUT" })
      assert.match(itself.error!.message!, /tokenId: is the presenting token or an ancestor of it/)
      const child = (await thief.fusionAuth.tokens.create({ name: "child", scopes: ["read"] })).data!
      const successor = (await thief.fusionAuth.tokens.rotate({ tokenId: sibling.info.id, gracePeriod: 3600 })).data!
      assert.strictEqual((await resolve(successor.token))!.user.id, id)
      // The leak response (a scanner's report): every token the thief holds is refused on its next request.
      await app.session.tokens.revokeLeaked(leaked.token)
      for (const token of [leaked.token, child.token, successor.token]) assert.isNull(await resolve(token))
      // The sibling, whose secret the thief never had, keeps its grace.
      assert.strictEqual((await resolve(sibling.token))!.user.id, id)
    })

    it("serves from the latest runtime still open: another createAuthSession(auth) disposed leaves the first serving", async () => {
      const { browser } = await signUp("runtimes")
      const second = createAuthSession(app.auth, { database: { url: db.url }, tokens: { prefix: "other_" } })
      const viaSecond = await browser.fusionAuth.tokens.create({ name: "second" })
      assert.match(viaSecond.data!.token, /^other_/)
      await second.dispose()
      const viaFirst = await browser.fusionAuth.tokens.create({ name: "first" })
      assert.match(viaFirst.data!.token, /^acme_/)
    })

    it("validates bodies: 400 VALIDATION_ERROR for a wrong shape, 400 INVALID_TOKEN_INPUT naming the field; no value echoed", async () => {
      const { id, cookie, browser } = await signUp("validator")
      const secret = `acme_${"B".repeat(38)}`
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}/api/auth/fusion-auth/tokens/${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: server.url, cookie },
          body: JSON.stringify(body)
        })
      const shapes: ReadonlyArray<readonly [string, unknown]> = [
        ["create", {}],
        ["create", { name: 42 }],
        ["create", { name: "x", scopes: secret }],
        ["create", { name: "x", expiresIn: -1 }],
        ["create", { name: "x", expiresIn: 1.5 }],
        ["create", { name: secret.repeat(30) }],
        ["revoke", { tokenId: 7 }],
        ["rotate", { tokenId: "x", gracePeriod: "1h" }]
      ]
      for (const [path, body] of shapes) {
        const response = await post(path, body)
        const text = await response.text()
        assert.strictEqual(response.status, 400, `${path} ${JSON.stringify(body).slice(0, 60)}: ${text}`)
        assert.strictEqual((JSON.parse(text) as { code: string }).code, "VALIDATION_ERROR")
        assert.notInclude(text, secret)
      }
      const field = async (input: { name: string; scopes?: Array<string>; expiresIn?: number }) => {
        const { error } = await browser.fusionAuth.tokens.create(input)
        assert.deepInclude(error, { status: 400, code: "INVALID_TOKEN_INPUT" })
        assert.notInclude(JSON.stringify(error), secret)
        return (error as unknown as { field: string }).field
      }
      assert.strictEqual(await field({ name: "x".repeat(101) }), "name")
      assert.strictEqual(await field({ name: "bell\u0007" }), "name")
      assert.strictEqual(await field({ name: "x", scopes: [secret] }), "scopes")
      const beyond = await browser.fusionAuth.tokens.create({ name: "x", scopes: ["admin:users"] }) // a member may not grant it
      assert.deepInclude(beyond.error, { status: 403, code: "INSUFFICIENT_SCOPE" })
      assert.strictEqual(await field({ name: "x", expiresIn: 31 * 86_400 }), "expiresAt")
      assert.strictEqual((await app.session.tokens.list(id)).length, 0)

      // The live-token limit (4 here): the fifth is refused, naming the field.
      for (let i = 0; i < 4; i++) assert.isNull((await browser.fusionAuth.tokens.create({ name: `t${i}` })).error)
      assert.strictEqual(await field({ name: "fifth" }), "userId")
      assert.strictEqual((await app.session.tokens.list(id)).length, 4)
    })
  })
}

describe("token endpoints with no runtime", () => {
  it("answer 500, not anonymous, until createAuthSession(auth) connects one", async () => {
    const auth = betterAuth({ secret: "no-runtime-secret-no-runtime-secret-01", baseURL: "http://localhost:3000", telemetry: { enabled: false }, logger: { disabled: true }, plugins: [fusionAuth()] })
    const response = await auth.handler(new Request("http://localhost:3000/api/auth/fusion-auth/tokens/list"))
    assert.strictEqual(response.status, 500)
    assert.include(await response.text(), "createAuthSession(auth)")
  })
})
