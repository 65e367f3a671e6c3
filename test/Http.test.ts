import { assert, describe, it } from "@effect/vitest"
import {
  Anonymous,
  Deactivated,
  type FusionAuthError,
  InsufficientScope,
  InvalidToken,
  InvalidTokenInput,
  isFusionAuthError,
  TokenNotFound,
  UserNotFound
} from "../src/index.ts"
import { errorResponse, forbidden, loginLocation, safeRedirectPath, unauthorized } from "../src/effect.ts"

describe("safeRedirectPath", () => {
  it("keeps local paths with their query and fragment", () => {
    assert.strictEqual(safeRedirectPath("/settings"), "/settings")
    assert.strictEqual(safeRedirectPath("/settings/tokens?tab=new&x=1#top"), "/settings/tokens?tab=new&x=1#top")
    assert.strictEqual(safeRedirectPath("/%2F%2Fevil.com"), "/%2F%2Fevil.com")
    assert.strictEqual(safeRedirectPath("/a/../b"), "/b")
  })

  it("sends everything that could leave the origin to /", () => {
    const hostile = [
      "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/\\/evil.com", "https://evil.com", "https:evil.com",
      "http:/evil.com", "javascript:alert(1)", "evil.com", "", " /x", "/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com",
      "\u0000/x", "/x\u0000", "data:text/html,hi", "//evil.com/%2F..", "/" + "a".repeat(3000)
    ]
    for (const value of hostile) assert.strictEqual(safeRedirectPath(value), "/", JSON.stringify(value))
    assert.strictEqual(safeRedirectPath(undefined), "/")
    assert.strictEqual(safeRedirectPath(null), "/")
  })
})

describe("loginLocation", () => {
  it("sends the browser to the login page with its own path and query to come back to", () => {
    assert.strictEqual(
      loginLocation(new Request("http://app.test/settings/tokens?tab=1")),
      "/login?redirect=%2Fsettings%2Ftokens%3Ftab%3D1"
    )
    assert.strictEqual(loginLocation(new Request("http://app.test/x"), "/sign-in"), "/sign-in?redirect=%2Fx")
  })

  it("a request path that would leave the origin comes back as /", () => {
    assert.strictEqual(loginLocation({ url: "http://app.test//evil.com" }), "/login?redirect=%2F")
    assert.strictEqual(loginLocation({ url: "http://app.test/\\evil.com" }), "/login?redirect=%2F")
    assert.strictEqual(loginLocation({ url: "not a url" }), "/login?redirect=%2F")
  })

  it("a TanStack server-function call goes back to the page that made it, never to the RPC endpoint", () => {
    const rpc = (referer?: string) =>
      new Request("http://app.test/_serverFn/abc123?payload=x", {
        method: "POST",
        headers: { "x-tsr-serverfn": "true", ...(referer ? { referer } : {}) }
      })
    assert.strictEqual(loginLocation(rpc("http://app.test/settings/tokens?tab=2")), "/login?redirect=%2Fsettings%2Ftokens%3Ftab%3D2")
    assert.strictEqual(loginLocation(rpc("https://evil.example/steal")), "/login?redirect=%2F")
    assert.strictEqual(loginLocation(rpc("http://app.test//evil.example")), "/login?redirect=%2F")
    assert.strictEqual(loginLocation(rpc()), "/login?redirect=%2F")
  })

  it("a login path that is not local is refused", () => {
    assert.strictEqual(loginLocation({ url: "http://app.test/x" }, "https://evil.com/login"), "/?redirect=%2Fx")
  })
})

describe("unauthorized", () => {
  it("answers a refused token with 401 and an RFC 6750 invalid_token challenge", async () => {
    for (const error of [new InvalidToken({ reason: "revoked", tokenId: "t1" }), new Deactivated({ userId: "u", credential: "token", reason: "deactivated" })]) {
      const response = unauthorized(error)
      assert.strictEqual(response.status, 401)
      assert.strictEqual(response.headers.get("www-authenticate"), `Bearer error="invalid_token"`)
      assert.strictEqual(((await response.json()) as { error: string }).error, "invalid_token")
    }
  })

  it("answers a token without a scope with 403 insufficient_scope naming it, and never echoes a malformed scope", () => {
    const named = forbidden(new InsufficientScope({ scope: "write", credential: "token" }))
    assert.strictEqual(named.status, 403)
    assert.strictEqual(named.headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="write"`)
    const hostile = forbidden(new InsufficientScope({ scope: `x", error="fake`, credential: "token" }))
    assert.strictEqual(hostile.headers.get("www-authenticate"), `Bearer error="insufficient_scope"`)
    assert.isNull(forbidden(new InsufficientScope({ scope: "write", credential: "cookie" })).headers.get("www-authenticate"))
  })

  it("answers a caller without a token with a bare Bearer challenge", () => {
    for (const error of [new Anonymous(), new Deactivated({ userId: "u", credential: "cookie", reason: "deactivated" })]) {
      const response = unauthorized(error)
      assert.strictEqual(response.status, 401)
      assert.strictEqual(response.headers.get("www-authenticate"), "Bearer")
    }
  })
})

describe("errorResponse", () => {
  const read = async (response: Response) => ({
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    cache: response.headers.get("cache-control"),
    body: await response.json()
  })

  it("maps every named error to its status, body and challenge, in one place", async () => {
    const cases: ReadonlyArray<readonly [FusionAuthError, Awaited<ReturnType<typeof read>>]> = [
      [new Anonymous(), { status: 401, challenge: "Bearer", cache: "no-store", body: { error: "unauthorized", reason: "Anonymous" } }],
      [new Deactivated({ userId: "u1", credential: "cookie", reason: "deactivated" }), { status: 401, challenge: "Bearer", cache: "no-store", body: { error: "unauthorized", reason: "Deactivated" } }],
      [new Deactivated({ userId: "u1", credential: "token", reason: "deactivated" }), { status: 401, challenge: `Bearer error="invalid_token"`, cache: "no-store", body: { error: "invalid_token", reason: "Deactivated" } }],
      [new InvalidToken({ reason: "revoked", tokenId: "t1" }), { status: 401, challenge: `Bearer error="invalid_token"`, cache: "no-store", body: { error: "invalid_token", reason: "InvalidToken" } }],
      [new InsufficientScope({ scope: "admin:users", credential: "token" }), { status: 403, challenge: `Bearer error="insufficient_scope", scope="admin:users"`, cache: "no-store", body: { error: "insufficient_scope", scope: "admin:users" } }],
      [new InsufficientScope({ scope: "write", credential: "cookie" }), { status: 403, challenge: null, cache: "no-store", body: { error: "insufficient_scope", scope: "write" } }],
      [new TokenNotFound({ tokenId: "t9" }), { status: 404, challenge: null, cache: "no-store", body: { error: "not_found", reason: "TokenNotFound" } }],
      [new UserNotFound({ userId: "u9" }), { status: 404, challenge: null, cache: "no-store", body: { error: "not_found", reason: "UserNotFound" } }],
      [new InvalidTokenInput({ field: "name", problem: "must be 1 to 100 characters" }), { status: 400, challenge: null, cache: "no-store", body: { error: "invalid_request", reason: "InvalidTokenInput", field: "name", problem: "must be 1 to 100 characters" } }]
    ]
    for (const [error, expected] of cases) assert.deepStrictEqual(await read(errorResponse(error)), expected, error._tag)
    assert.isTrue(cases.every(([error]) => isFusionAuthError(error)))
    assert.isFalse(isFusionAuthError(new Error("database down")))
  })

  it("never echoes a value that is not a scope name, in the challenge or the body", async () => {
    const pasted = "sk_live_4eC39HqLyjWDarjtT1zdp7dc0Abc12"
    const response = errorResponse(new InsufficientScope({ scope: pasted, credential: "token" }))
    assert.strictEqual(response.headers.get("www-authenticate"), `Bearer error="insufficient_scope"`)
    assert.deepStrictEqual(await response.json(), { error: "insufficient_scope" })
  })
})
