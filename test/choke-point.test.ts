/**
 * The choke point end to end: real Better Auth (sign-up through `auth.handler`) and the real
 * token store on the same database, with Better Auth's cookie cache off and on.
 */
import { assert, describe, it } from "@effect/vitest"
import { Exit, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, Deactivated, InvalidToken } from "../src/index.ts"
import { SessionResolver } from "../src/effect.ts"
import { makeAuth, migrate, signIn, signUp } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"

const bearer = (token: Redacted.Redacted<string>, extra: Record<string, string> = {}) =>
  new Headers({ authorization: `Bearer ${Redacted.value(token)}`, ...extra })
let emails = 0
const email = () => `person${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

for (const backend of sqlBackends) {
  for (const cookieCache of [false, true]) {
    describe(`choke point on ${backend.name}, cookie cache ${cookieCache ? "on" : "off"}`, () => {
      let db: TestDatabase
      let wire: WireCounter
      let setup: ReturnType<typeof makeAuth>
      let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>

      beforeAll(async () => {
        db = await backend.make()
        wire = await countStatements(db.url)
        setup = makeAuth(wire.url, { cookieCache })
        await migrate(setup.auth, { url: wire.url })
        app = createAuthSession(setup.auth, { database: { url: wire.url }, tokens: { scopes: ["read", "write"] } })
      })
      afterAll(async () => {
        await app.dispose()
        await setup.pool.end()
        await wire.close()
        await db.close()
      })

      /** Resolves through the Effect service, returning the Exit and the statements it cost. */
      const resolve = async (headers: Headers) => {
        wire.reset()
        const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(headers)))
        return { exit, statements: wire.statements() }
      }
      const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
        assert.isTrue(Exit.isFailure(exit))
        return Exit.isFailure(exit) ? Exit.findErrorOption(exit).pipe((o) => (o._tag === "Some" ? o.value : undefined)) : undefined
      }

      it("a cookie resolves to Better Auth's own session row and user", async () => {
        const { userId, cookie } = await signUp(setup.auth, email())
        const session = await app.getSession(new Headers({ cookie }))
        assert.isNotNull(session)
        assert.strictEqual(session!.user.id, userId)
        assert.isNotNull(session!.session)
        assert.strictEqual(session!.session!.userId, userId)
        const plain = await setup.auth.api.getSession({ headers: new Headers({ cookie }) })
        assert.strictEqual(session!.session!.id, plain!.session.id)
        assert.isNull(session!.user.deactivatedAt ?? null)
      })

      it("a token resolves to the same user shape with session null, at one statement and no write", async () => {
        const { userId, cookie } = await signUp(setup.auth, email())
        const { token } = await app.tokens.create({ userId, name: "ci" })
        const { exit, statements } = await resolve(bearer(token))
        assert.isTrue(Exit.isSuccess(exit))
        const viaToken = Exit.isSuccess(exit) ? exit.value : undefined
        assert.isNull(viaToken!.session)
        assert.strictEqual(statements.length, 1)
        assert.isFalse(statements.some((s) => s.write))
        const viaCookie = (await app.getSession(new Headers({ cookie })))!
        assert.deepStrictEqual(Object.keys(viaToken!.user).sort(), Object.keys(viaCookie.user).sort())
        for (const field of ["id", "email", "name", "emailVerified"] as const) {
          assert.deepStrictEqual(viaToken!.user[field], viaCookie.user[field])
        }
      })

      it("the cookie path is one statement and no write, whatever the cookie cache; Better Auth's own read is two, and the plugin's lock-out read one more", async () => {
        const { cookie } = await signUp(setup.auth, email())
        const headers = new Headers({ cookie })
        await app.getSession(headers)
        wire.reset()
        await setup.auth.api.getSession({ headers, query: { disableCookieCache: true } })
        assert.strictEqual(wire.statements().length, 3)
        assert.match(wire.statements()[2]!.text, /from "user" where "user"."id" = \$1/)
        const { exit, statements } = await resolve(headers)
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(statements.length, 1)
        assert.isFalse(statements.some((s) => s.write))
        assert.match(statements[0]!.text, /from "session" s join "user" u/)
      })

      it("a Bearer credential decides alone: a bad token is refused even with a good cookie", async () => {
        const alice = await signUp(setup.auth, email())
        const bob = await signUp(setup.auth, email())
        const bobs = await app.tokens.create({ userId: bob.userId, name: "bob" })

        const malformed = await resolve(new Headers({ cookie: alice.cookie, authorization: "Bearer sk_live_nope" }))
        assert.deepStrictEqual(failureOf(malformed.exit), new InvalidToken({ reason: "malformed" }))
        assert.strictEqual(malformed.statements.length, 0)

        const empty = await resolve(new Headers({ cookie: alice.cookie, authorization: "Bearer " }))
        assert.deepStrictEqual(failureOf(empty.exit), new InvalidToken({ reason: "malformed" }))

        const { token: never } = await app.tokens.create({ userId: alice.userId, name: "x" })
        const unknown = Redacted.make(Redacted.value(never).replace(/^(sk_live_)(.)/, (_, p, c) => p + (c === "A" ? "B" : "A")))
        assert.isNull(await app.getSession(bearer(unknown, { cookie: alice.cookie })))

        const asBob = await app.getSession(bearer(bobs.token, { cookie: alice.cookie }))
        assert.strictEqual(asBob!.user.id, bob.userId)
        assert.isNull(asBob!.session)

        const twoHeaders = new Headers({ cookie: alice.cookie })
        twoHeaders.append("authorization", `Bearer ${Redacted.value(bobs.token)}`)
        twoHeaders.append("authorization", `Bearer ${Redacted.value(bobs.token)}`)
        assert.deepStrictEqual(failureOf((await resolve(twoHeaders)).exit), new InvalidToken({ reason: "malformed" }))

        const huge = await resolve(new Headers({ cookie: alice.cookie, authorization: `Bearer ${"a".repeat(32 * 1024)}` }))
        assert.deepStrictEqual(failureOf(huge.exit), new InvalidToken({ reason: "malformed" }))
        assert.strictEqual(huge.statements.length, 0)
      })

      it("no cookie, or a cookie naming no session, is anonymous", async () => {
        assert.isNull(await app.getSession(new Headers()))
        assert.isNull(await app.getSession(new Headers({ cookie: "better-auth.session_token=forged.value" })))
        assert.isNull(await app.getSession(new Headers({ cookie: "other_app=1; theme=dark" })))
        const { exit } = await resolve(new Headers())
        assert.strictEqual((failureOf(exit) as { _tag: string })._tag, "Anonymous")
      })

      it("deactivation locks out existing cookies and tokens on the very next request; reactivation lets them back", async () => {
        const address = email()
        const { userId, cookie } = await signUp(setup.auth, address)
        const secondCookie = await signIn(setup.auth, address)
        const { token } = await app.tokens.create({ userId, name: "ci" })
        for (const headers of [new Headers({ cookie }), new Headers({ cookie: secondCookie }), bearer(token)]) {
          assert.strictEqual((await app.getSession(headers))!.user.id, userId)
        }

        await app.users.deactivate(userId)
        assert.isNull(await app.getSession(new Headers({ cookie })))
        assert.isNull(await app.getSession(new Headers({ cookie: secondCookie })))
        assert.isNull(await app.getSession(bearer(token)))
        assert.deepStrictEqual(failureOf((await resolve(new Headers({ cookie }))).exit), new Deactivated({ userId, credential: "cookie", reason: "deactivated" }))
        assert.deepStrictEqual(failureOf((await resolve(bearer(token))).exit), new Deactivated({ userId, credential: "token", reason: "deactivated" }))

        const browser = await app.requireSession(new Request("http://localhost:3000/settings?tab=2", { headers: { cookie } })).catch((e) => e)
        assert.instanceOf(browser, Response)
        assert.strictEqual(browser.status, 302)
        assert.strictEqual(browser.headers.get("location"), "/login?redirect=%2Fsettings%3Ftab%3D2")
        const script = await app.requireSession(new Request("http://localhost:3000/api/me", { headers: bearer(token) })).catch((e) => e)
        assert.instanceOf(script, Response)
        assert.strictEqual(script.status, 401)
        assert.strictEqual(script.headers.get("www-authenticate"), `Bearer error="invalid_token"`)

        const signInRefused = await signIn(setup.auth, address).catch((e: Error) => e)
        assert.instanceOf(signInRefused, Error, "a deactivated user cannot open a new session")
        assert.match((signInRefused as Error).message, /deactivated/)
        const why = await app.resolve(bearer(token))
        assert.deepStrictEqual("error" in why ? why.error : undefined, new Deactivated({ userId, credential: "token", reason: "deactivated" }))

        await app.users.reactivate(userId)
        for (const headers of [new Headers({ cookie }), new Headers({ cookie: secondCookie }), bearer(token)]) {
          assert.strictEqual((await app.getSession(headers))!.user.id, userId)
        }
        assert.strictEqual((await app.getSession(new Headers({ cookie: await signIn(setup.auth, address) })))!.user.id, userId)
      })

      it("requireScope is the same check for both credentials: a token only has its own scopes", async () => {
        const { userId, cookie } = await signUp(setup.auth, email())
        const { token } = await app.tokens.create({ userId, name: "read only", scopes: ["read"] })
        const browser = (headers: HeadersInit) => new Request("http://localhost:3000/api/things", { headers })
        assert.deepStrictEqual((await app.requireScope("write", browser({ cookie }))).scopes, ["read", "write", "tokens:manage"])
        assert.deepStrictEqual((await app.requireScope("read", browser(bearer(token)))).scopes, ["read"])
        const refused = await app.requireScope("write", browser(bearer(token))).catch((e) => e)
        assert.instanceOf(refused, Response)
        assert.strictEqual(refused.status, 403)
        assert.strictEqual(refused.headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="write"`)
        assert.deepStrictEqual(await refused.json(), { error: "insufficient_scope", scope: "write" })
        const undeclared = await app.requireScope("admin:users", browser({ cookie })).catch((e) => e)
        assert.strictEqual(undeclared.status, 403)
        assert.isNull(undeclared.headers.get("www-authenticate"))
        const anonymous = await app.requireScope("read", browser({})).catch((e) => e)
        assert.strictEqual(anonymous.status, 302, "no session at all is still a login redirect, not a 403")
      })

      it("a revoked token fails on the next request and the user's cookie is untouched", async () => {
        const { userId, cookie } = await signUp(setup.auth, email())
        const { token, info } = await app.tokens.create({ userId, name: "ci" })
        assert.strictEqual((await app.getSession(bearer(token)))!.user.id, userId)
        await app.tokens.revoke(userId, info.id)
        const { exit } = await resolve(bearer(token))
        assert.deepStrictEqual(failureOf(exit), new InvalidToken({ reason: "revoked", tokenId: info.id }))
        assert.strictEqual((await app.getSession(new Headers({ cookie })))!.user.id, userId)
      })

      it("a user deleted behind Better Auth's back has no session from any credential", async () => {
        const { userId, cookie } = await signUp(setup.auth, email())
        const { token } = await app.tokens.create({ userId, name: "ci" })
        await app.getSession(new Headers({ cookie }))
        await setup.pool.query(`delete from "user" where "id" = $1`, [userId])
        assert.isNull(await app.getSession(new Headers({ cookie })))
        assert.isNull(await app.getSession(bearer(token)))
      })
    })
  }
}

describe("the current request in TanStack Start", () => {
  it("getSession() with no argument reads the request TanStack Start is serving", async () => {
    const db = await sqlBackends[0]!.make()
    const { auth, pool } = makeAuth(db.url)
    await migrate(auth, { url: db.url })
    const app = createAuthSession(auth, { database: { url: db.url } })
    try {
      const { userId, cookie } = await signUp(auth, email())
      const { getRequest } = await import("@tanstack/react-start/server") // creates the storage, as Start does
      assert.isFunction(getRequest)
      const storage = (globalThis as Record<symbol, { run: <T>(store: unknown, fn: () => T) => T }>)[
        Symbol.for("tanstack-start:event-storage")
      ]
      const inRequest = <T>(request: Request, fn: () => Promise<T>) =>
        storage!.run({ request, requestUrl: new URL(request.url) }, fn)
      const request = new Request("http://localhost:3000/dashboard", { headers: { cookie } })
      const session = await inRequest(request, () => app.getSession())
      assert.strictEqual(session!.user.id, userId)
      const anonymous = new Request("http://localhost:3000/settings?x=1")
      const thrown = await inRequest(anonymous, () => app.requireSession()).catch((e) => e)
      assert.strictEqual(thrown.status, 302)
      assert.strictEqual(thrown.headers.get("location"), "/login?redirect=%2Fsettings%3Fx%3D1")
      assert.isObject(thrown.options, "a TanStack redirect, which Start turns into a navigation")
      const outside = await app.getSession().catch((e: Error) => e)
      assert.instanceOf(outside, Error)
      assert.match((outside as Error).message, /pass the Request or its Headers/)
    } finally {
      await app.dispose()
      await pool.end()
      await db.close()
    }
  })
})

