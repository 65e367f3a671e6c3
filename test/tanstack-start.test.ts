/**
 * `currentRequest`, outside a TanStack Start request: the request given is the one used, and
 * with none the call fails naming the fix, never falling back to an anonymous caller.
 * (The middleware, on a real Start server: examples/start/test/middleware.test.ts; its types:
 * tanstack-start.types.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { Layer } from "effect"
import { Anonymous, createAuthSession, fusionAuth } from "../src/index.ts"
import { SessionResolver, Stores } from "../src/testing.ts"
import { currentRequest } from "../src/tanstack-start.ts"

const failure = async (call: Promise<unknown>): Promise<Error> => {
  try {
    await call
  } catch (error) {
    return error as Error
  }
  throw new Error("expected the call to fail")
}

describe("currentRequest", () => {
  it("answers the Request or Headers it is given, as they are", async () => {
    const request = new Request("http://app.test/settings")
    const headers = new Headers({ cookie: "a=b" })
    assert.strictEqual(await currentRequest(request), request)
    assert.strictEqual(await currentRequest(headers), headers)
  })

  it("outside a Start request and given none, fails naming the fix", async () => {
    const error = await failure(currentRequest())
    assert.match(error.message, /^fusion-auth: no current request\. Outside a TanStack Start request, pass the Request or its Headers/)
    assert.isDefined(error.cause)
  })

  it("getSession() with no request outside Start rejects rather than answer anonymous", async () => {
    const auth = betterAuth({ secret: "tanstack-start-test-secret-0123456789", plugins: [fusionAuth()] })
    // An anonymous resolver: a fallback to "no request, no credential" would answer null here.
    const app = createAuthSession(auth, { layer: Layer.merge(SessionResolver.layerTest(new Anonymous()), Stores.layerMemory) })
    try {
      assert.match((await failure(app.getSession())).message, /no current request/)
      assert.match((await failure(app.requireSession())).message, /no current request/)
    } finally {
      await app.dispose()
    }
  })
})
