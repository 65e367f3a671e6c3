/**
 * `signUpFixture` (fusion-auth/testing): one call gives an app's test a real user, signed up
 * through real Better Auth, with a browser cookie and an API token that both resolve.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession } from "../src/index.ts"
import { signUpFixture } from "../src/testing.ts"
import { makeAuth, migrate } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"

for (const backend of sqlBackends) {
  describe(`signUpFixture on ${backend.name}`, () => {
    let db: TestDatabase
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>

    beforeAll(async () => {
      db = await backend.make()
      setup = makeAuth(db.url)
      await migrate(setup.auth, { url: db.url })
      app = createAuthSession(setup.auth, { database: { url: db.url }, tokens: { scopes: ["read", "write"] } })
    })
    afterAll(async () => {
      await app.dispose()
      await setup.pool.end()
      await db.close()
    })

    it("gives a user whose cookie and token both resolve to them, the token with its scopes", async () => {
      const ada = await signUpFixture(setup.auth, app, { email: "ada@example.com", scopes: ["read"] })
      const viaCookie = await app.getSession(ada.headers.cookie())
      const viaToken = await app.getSession(ada.headers.bearer())
      assert.deepStrictEqual([viaCookie?.user.id, viaCookie?.session?.userId, viaCookie?.scopes], [ada.userId, ada.userId, ["read", "write", "tokens:manage"]])
      assert.deepStrictEqual([viaToken?.user.email, viaToken?.session, viaToken?.scopes], ["ada@example.com", null, ["read"]])
      assert.notInclude(String(ada.token), Redacted.value(ada.token)) // redacted when printed
      const other = await signUpFixture(setup.auth, app)
      assert.notStrictEqual(other.userId, ada.userId)
      assert.match(other.email, /^user-[0-9a-f]{8}@example\.com$/)
    })
  })
}
