/**
 * Better Auth's `bearer()` plugin at the choke point, on real Better Auth over PGlite and
 * Postgres: a session token sent as `Authorization: Bearer …` (as mobile and native clients
 * send what `set-auth-token` gave them) resolves as that session, with the answer
 * `auth.api.getSession` gives and the lock-out rule; a value the plugin would not take is
 * refused, never a fall-back to the cookie; an API token beside it is still told apart by
 * its format.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { bearer } from "better-auth/plugins"
import { Exit } from "effect"
import { afterAll, beforeAll } from "vitest"
import { Redacted } from "effect"
import { SessionResolver } from "../src/effect.ts"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"
import { testPassword } from "./support/password.ts"

const NATIVE = /as "s0"/
let emails = 0
const email = () => `bearer${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

for (const backend of sqlBackends) {
  describe(`Better Auth's bearer() plugin on ${backend.name}`, () => {
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

    const world = async (plugins: ReadonlyArray<unknown>) => {
      const pool = testPool(wire.url, 2)
      const auth = betterAuth({
        database: pool,
        secret: "bearer-secret-bearer-secret-bearer-0123",
        baseURL: "http://localhost:3000",
        telemetry: { enabled: false },
        emailAndPassword: { enabled: true, password: testPassword },
        plugins: [fusionAuth(), ...plugins] as Array<ReturnType<typeof fusionAuth>>
      })
      await migrate(auth, { url: wire.url })
      const app = createAuthSession(auth, { database: { url: wire.url } })
      opened.push(async () => {
        await app.dispose()
        await pool.end()
      })
      const address = email()
      const { headers, response } = await auth.api.signUpEmail({
        body: { email: address, password: "correct horse battery", name: "Bee" },
        returnHeaders: true
      })
      const cookie = headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
      const resolve = async (headers: Record<string, string>) => {
        wire.reset()
        const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers(headers))))
        return { exit, statements: [...wire.statements()] }
      }
      const error = (exit: Exit.Exit<unknown, unknown>) => Exit.isFailure(exit) ? (Exit.findErrorOption(exit) as any).value : undefined
      return { auth, app, userId: response.user.id, address, cookie, setAuthToken: headers.get("set-auth-token"), rawToken: response.token as string, resolve, error }
    }

    it("a signed session token (set-auth-token) and a bare one resolve as that session: getSession's answer, in one statement", async () => {
      const { auth, userId, setAuthToken, rawToken, resolve } = await world([bearer()])
      assert.isString(setAuthToken)
      for (const value of [setAuthToken!, encodeURIComponent(setAuthToken!), rawToken]) {
        const headers = { authorization: `Bearer ${value}` }
        const theirs = await auth.api.getSession({ headers: new Headers(headers) })
        const { exit, statements } = await resolve(headers)
        assert.isTrue(Exit.isSuccess(exit), value)
        const ours = Exit.isSuccess(exit) ? exit.value : undefined
        assert.strictEqual(ours?.user.id, userId)
        assert.strictEqual(ours?.session?.id, theirs?.session.id)
        assert.strictEqual(ours?.session?.token, rawToken)
        assert.deepStrictEqual(Object.keys(ours!.user).sort(), Object.keys(theirs!.user).sort())
        assert.isUndefined(ours?.tokenId)
        assert.strictEqual(statements.length, 1)
        assert.match(statements[0]!.text, NATIVE)
      }
    })

    it("a forged signature is refused with no statement, and never falls back to the cookie sent beside it", async () => {
      const { setAuthToken, cookie, resolve, error } = await world([bearer()])
      // The signature's first character changed (its last carries padding bits a decoder ignores).
      const at = setAuthToken!.indexOf(".") + 1
      const forged = setAuthToken!.slice(0, at) + (setAuthToken![at] === "A" ? "B" : "A") + setAuthToken!.slice(at + 1)
      for (const headers of [{ authorization: `Bearer ${forged}` }, { authorization: `Bearer ${forged}`, cookie }]) {
        const { exit, statements } = await resolve(headers)
        assert.deepStrictEqual({ tag: error(exit)?._tag, reason: error(exit)?.reason }, { tag: "InvalidToken", reason: "malformed" })
        assert.strictEqual(statements.length, 0)
      }
    })

    it("requireSignature: a bare session token is refused, a signed one resolves", async () => {
      const { userId, setAuthToken, rawToken, resolve, error } = await world([bearer({ requireSignature: true })])
      const bare = await resolve({ authorization: `Bearer ${rawToken}` })
      assert.strictEqual(error(bare.exit)?.reason, "malformed")
      assert.strictEqual(bare.statements.length, 0)
      const signed = await resolve({ authorization: `Bearer ${setAuthToken}` })
      assert.strictEqual(Exit.isSuccess(signed.exit) && signed.exit.value.user.id, userId)
    })

    it("a revoked session: refused as a Bearer credential (InvalidToken, unknown), as getSession answers null", async () => {
      const { auth, setAuthToken, rawToken, resolve, error } = await world([bearer()])
      const headers = { authorization: `Bearer ${setAuthToken}` }
      await auth.api.revokeSession({ headers: new Headers(headers), body: { token: rawToken } })
      assert.isNull(await auth.api.getSession({ headers: new Headers(headers) }))
      const { exit } = await resolve(headers)
      assert.deepStrictEqual({ tag: error(exit)?._tag, reason: error(exit)?.reason }, { tag: "InvalidToken", reason: "unknown" })
    })

    it("a deactivated user: refused on the next request (Deactivated, by a Bearer credential), and by Better Auth's own endpoints", async () => {
      const { auth, app, userId, setAuthToken, resolve, error } = await world([bearer()])
      const headers = { authorization: `Bearer ${setAuthToken}` }
      assert.isTrue(Exit.isSuccess((await resolve(headers)).exit))
      await app.users.deactivate(userId)
      const { exit } = await resolve(headers)
      assert.deepStrictEqual({ tag: error(exit)?._tag, credential: error(exit)?.credential }, { tag: "Deactivated", credential: "token" })
      assert.isNull(await app.getSession(new Headers(headers)))
      const listed = await auth.handler(new Request("http://localhost:3000/api/auth/list-sessions", { headers }))
      assert.strictEqual(listed.status, 401)
    })

    it("an API token beside it is told apart by its format; a malformed one of its prefix is malformed, not a session", async () => {
      const { app, userId, address, resolve, error } = await world([bearer()])
      const { token } = await app.tokens.create({ userId, name: "ci" })
      const viaToken = await resolve({ authorization: `Bearer ${Redacted.value(token)}` })
      assert.strictEqual(Exit.isSuccess(viaToken.exit) && viaToken.exit.value.user.email, address)
      assert.isNull(Exit.isSuccess(viaToken.exit) && viaToken.exit.value.session)
      const value = Redacted.value(token)
      const broken = await resolve({ authorization: `Bearer ${value.slice(0, -1)}${value.endsWith("x") ? "y" : "x"}` })
      assert.strictEqual(error(broken.exit)?.reason, "malformed")
      assert.strictEqual(broken.statements.length, 0)
      // A token of a prefix this app does not accept is still a token: never taken for a session token.
      const otherPrefix = await resolve({ authorization: `Bearer sk_test_${value.slice("sk_live_".length)}` })
      assert.strictEqual(error(otherPrefix.exit)?.reason, "malformed")
      assert.strictEqual(otherPrefix.statements.length, 0)
    })

    it("without the plugin, a session token sent as Bearer stays malformed", async () => {
      const { setAuthToken, resolve, error } = await world([])
      const { exit, statements } = await resolve({ authorization: `Bearer ${setAuthToken ?? "abc.def"}` })
      assert.strictEqual(error(exit)?.reason, "malformed")
      assert.strictEqual(statements.length, 0)
    })
  })
}
