/**
 * Infrastructure failure is not an authentication answer: with the database gone or Better
 * Auth throwing, getSession and requireSession reject (a 5xx), never null, never a redirect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { ApiToken, BetterAuthFailure } from "../src/effect.ts"
import * as SignedCookie from "../src/core/SignedCookie.ts"
import { createAuthSession, fusionAuth } from "../src/index.ts"
import { makeAuth, migrate, signUp } from "./support/auth.ts"
import { pglite } from "./support/databases.ts"

const notAnAnswer = async (promise: Promise<unknown>) => {
  const outcome = await promise.then((value) => ({ value }), (error: unknown) => ({ error }))
  assert.property(outcome, "error", `resolved with ${JSON.stringify((outcome as { value?: unknown }).value)}`)
  const { error } = outcome as { error: unknown }
  assert.notInstanceOf(error, Response, "a refusal (redirect/401) instead of a failure")
  return error
}

describe("infrastructure failures", () => {
  it("the database going away fails cookie and token requests instead of answering them", async () => {
    const db = await pglite.make()
    const { auth, pool } = makeAuth(db.url)
    await migrate(auth, { url: db.url })
    const app = createAuthSession(auth, { database: { url: db.url } })
    try {
      const { userId, cookie } = await signUp(auth, "down@example.com")
      const { token } = await app.tokens.create({ userId, name: "ci" })
      const bearer = new Headers({ authorization: `Bearer ${Redacted.value(token)}` })
      assert.strictEqual((await app.getSession(bearer))!.user.id, userId)
      assert.strictEqual((await app.getSession(new Headers({ cookie })))!.user.id, userId)

      await db.close()

      for (const headers of [bearer, new Headers({ cookie })]) {
        const error = await notAnAnswer(app.getSession(headers))
        const text = String(error) + JSON.stringify(error) + String((error as Error).stack)
        assert.notInclude(text, Redacted.value(token))
        await notAnAnswer(app.requireSession(new Request("http://localhost/settings", { headers })))
      }
      // A malformed token needs no database: still refused, with no I/O.
      assert.isNull(await app.getSession(new Headers({ authorization: "Bearer sk_live_short" })))
    } finally {
      await app.dispose()
      await pool.end().catch(() => undefined)
    }
  })

  it("a database that was never reachable fails requests rather than calling them anonymous", async () => {
    const dead = "postgres://postgres@127.0.0.1:9/nothing"
    const { auth, pool } = makeAuth(dead)
    const app = createAuthSession(auth, { database: { url: dead } })
    try {
      const wellFormed = Redacted.value(ApiToken.generate())
      await notAnAnswer(app.getSession(new Headers({ authorization: `Bearer ${wellFormed}` })))
      // A signed cookie needs the database: a failure. An unsigned one is refused with no I/O, like a malformed token.
      const signed = `better-auth.session_token=${SignedCookie.serialize("abc", "test-secret-test-secret-test-secret-0123")}`
      await notAnAnswer(app.getSession(new Headers({ cookie: signed })))
      assert.isNull(await app.getSession(new Headers({ cookie: "better-auth.session_token=abc.def" })))
    } finally {
      await app.dispose()
      await pool.end().catch(() => undefined)
    }
  })

  it("Better Auth throwing inside the cookie path is a failure, and the cookie stays out of the error", async () => {
    const cookieValue = "better-auth.session_token=very-secret-cookie-value"
    const throwing = {
      options: { plugins: [fusionAuth()] },
      api: {
        getSession: async (_: { headers: Headers }): Promise<null> => {
          throw new Error("adapter exploded")
        }
      }
    }
    const app = createAuthSession(throwing, { database: { url: "postgres://postgres@127.0.0.1:9/unused" } })
    try {
      const error = await notAnAnswer(app.getSession(new Headers({ cookie: cookieValue })))
      assert.instanceOf(error, BetterAuthFailure)
      assert.notInclude(String(error) + JSON.stringify(error), "very-secret-cookie-value")
      assert.strictEqual(((error as Error).cause as Error).message, "adapter exploded")
    } finally {
      await app.dispose()
    }
  })

  it("an auth instance without the fusionAuth() plugin is refused at start-up, not silently trusted", () => {
    const withoutPlugin = { options: { plugins: [] }, api: { getSession: async () => null } }
    assert.throws(() => createAuthSession(withoutPlugin), /add fusionAuth\(\) to the plugins/)
  })
})
