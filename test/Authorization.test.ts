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

  it("a Bearer value that is not shaped like a token of any prefix may be a Better Auth session token (bearer()), sent as that plugin reads it", () => {
    const session = "aQ2Cikz8O6j7oeFWxfwXdKi4f3T1wuNi"
    const signed = `${session}.scuYGrfyOmfEDEG+LwKF5r+y/pTILZEZCtOdBoUUC10=`
    for (const value of [session, signed, encodeURIComponent(signed)]) {
      const result = presented(headers(["authorization", `Bearer ${value}`]))
      assert.deepStrictEqual(result, { _tag: "SessionBearer", value })
      assert.strictEqual(tag(headers(["authorization", `bearer ${value}`])), "SessionBearer")
    }
    const malformed = [
      `Bearer\t${session}`, // the plugin reads "bearer " then the value
      `Bearer "${session}"`,
      `Bearer ${session}.sig;nature`,
      `Bearer sk_test_${token.slice("sk_live_".length)}`, // a token, of a prefix not accepted
      `Bearer acme_live_${"a".repeat(10)}`
    ]
    for (const value of malformed) assert.strictEqual(tag(headers(["authorization", value])), "Malformed", value)
  })

  it("reads a Bearer token of the app's format: its prefix and the legacy ones; any other prefix is malformed", () => {
    const acme = ApiToken.format("acme_")
    const moved = ApiToken.format("acme_live_", ["sk_live_"])
    const mine = Redacted.value(acme.generate())
    const bearer = (value: string) => headers(["authorization", `Bearer ${value}`])
    assert.strictEqual(presented(bearer(mine), acme)._tag, "Bearer")
    assert.strictEqual(presented(bearer(token), acme)._tag, "Malformed", "sk_live_ is not listed")
    assert.strictEqual(presented(bearer(mine))._tag, "Malformed", "the default format is sk_live_ only")
    assert.strictEqual(presented(bearer(token), moved)._tag, "Bearer", "a legacy prefix")
    const longest = Redacted.value(moved.generate())
    assert.strictEqual(presented(bearer(longest), moved)._tag, "Bearer")
    assert.strictEqual(presented(headers(["authorization", `Bearer${" ".repeat(80)}${longest}`]), moved)._tag, "Malformed", "too long to read")
  })
})
