/**
 * The example's `/api/v1` describes itself: its OpenAPI document (served at
 * /api/v1/openapi.json) shows fusion-auth's bearer scheme on every endpoint, the 401 on each
 * and the 403 where a scope is checked. Test layers only: a document needs no database.
 */
import { assert, describe, it } from "@effect/vitest"
import { Layer } from "effect"
import { SessionResolver, Stores } from "fusion-auth/testing"
import { Anonymous } from "fusion-auth"
import { makeApiHandler } from "#/server/api"

interface Operation {
  readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>>
  readonly responses: Record<string, { readonly headers?: Record<string, unknown> }>
}

describe("the /api/v1 OpenAPI document", () => {
  it("declares the bearer scheme, a 401 with WWW-Authenticate everywhere and the 403 on the admin endpoint", async () => {
    const stores = Stores.layerMemory.pipe(Layer.provide(Stores.settings()))
    const api = makeApiHandler(Layer.merge(SessionResolver.layerTest(new Anonymous()), stores))
    try {
      const response = await api.handler(new Request("http://app.test/api/v1/openapi.json"))
      assert.strictEqual(response.status, 200)
      const document = (await response.json()) as {
        readonly components: { readonly securitySchemes: Record<string, { readonly type: string; readonly scheme: string }> }
        readonly paths: Record<string, Record<string, Operation>>
      }
      assert.deepInclude(document.components.securitySchemes.bearer, { type: "http", scheme: "Bearer" })
      const operations = ["/api/v1/me", "/api/v1/tokens", "/api/v1/admin/users"].map((path) => document.paths[path]?.get)
      for (const operation of operations) {
        assert.deepStrictEqual(operation?.security, [{ bearer: [] }])
        assert.containsAllKeys(operation?.responses["401"]?.headers, ["www-authenticate"])
      }
      const [me, , users] = operations
      assert.notProperty(me?.responses, "403")
      assert.containsAllKeys(users?.responses["403"]?.headers, ["www-authenticate"])
    } finally {
      await api.dispose()
    }
  })
})
