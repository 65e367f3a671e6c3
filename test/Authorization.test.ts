import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { ApiToken } from "../src/effect.ts"
import { presented } from "../src/core/Authorization.ts"

const token = Redacted.value(ApiToken.generate())
const headers = (...pairs: Array<[string, string]>) => {
  const h = new Headers()
  for (const [name, value] of pairs) h.append(name, value)
  return h
}
const tag = (h: Headers) => presented(h)._tag

describe("Authorization header", () => {
  it("no Authorization header leaves the cookie to decide", () => {
    assert.strictEqual(tag(headers()), "Cookie")
    assert.strictEqual(tag(headers(["cookie", "better-auth.session_token=x"])), "Cookie")
  })

  it("another scheme is not fusion-auth's and leaves the cookie to decide", () => {
    assert.strictEqual(tag(headers(["authorization", "Basic dXNlcjpwYXNz"])), "Cookie")
    assert.strictEqual(tag(headers(["authorization", "Bearerx " + token])), "Cookie")
    assert.strictEqual(tag(headers(["authorization", "Token " + token])), "Cookie")
  })

  it("accepts the Bearer scheme in any case, with spaces or tabs before the token", () => {
    for (const value of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `bEaReR   ${token}`, `Bearer\t${token}`, `Bearer ${token}  `]) {
      const result = presented(headers(["authorization", value]))
      assert.strictEqual(result._tag, "Bearer", JSON.stringify(value))
      if (result._tag === "Bearer") assert.strictEqual(Redacted.value(result.token), token)
    }
  })

  it("a Bearer credential that is not exactly one well-formed token is malformed", () => {
    const cases = [
      "Bearer",
      "Bearer ",
      "Bearer sk_live_",
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Bearer ${token} ${token}`,
      `Bearer ${token}, Bearer ${token}`,
      `Basic dXNlcjpwYXNz, Bearer ${token}`,
      `Bearer ${token},`,
      `Bearer "${token}"`,
      `Bearer ${"A".repeat(64 * 1024)}`,
      `Bearer ${token.slice(0, 20)}\u00e9${token.slice(21)}`
    ]
    for (const value of cases) assert.strictEqual(tag(headers(["authorization", value])), "Malformed", value.slice(0, 80))
  })

  it("two Authorization headers are malformed, even when both carry the same good token", () => {
    assert.strictEqual(tag(headers(["authorization", `Bearer ${token}`], ["authorization", `Bearer ${token}`])), "Malformed")
    assert.strictEqual(tag(headers(["authorization", "Basic eA=="], ["authorization", `Bearer ${token}`])), "Malformed")
  })

  it("non-ASCII bytes are refused by Headers itself or come out malformed, never a token", () => {
    let result: string
    try {
      result = tag(headers(["authorization", `Bearer ${token.slice(0, 30)}€${token.slice(31)}`]))
    } catch (error) {
      result = error instanceof TypeError ? "rejected by Headers" : "crash"
    }
    assert.oneOf(result, ["Malformed", "rejected by Headers"])
  })
})
