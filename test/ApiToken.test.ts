import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { inspect } from "node:util"
import { ApiToken } from "../src/effect.ts"

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

describe("ApiToken", () => {
  it("generates tokens that parse, with the documented shape", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const token = Redacted.value(ApiToken.generate())
      assert.match(token, /^sk_live_[0-9A-Za-z]{38}$/)
      assert.strictEqual(token.length, ApiToken.LENGTH)
      assert.isDefined(ApiToken.parse(token))
      seen.add(token)
    }
    assert.strictEqual(seen.size, 2000)
  })

  it("uses every base62 character for the random part (no bias towards a subset)", () => {
    const counts = new Map<string, number>()
    for (let i = 0; i < 2000; i++) {
      for (const c of Redacted.value(ApiToken.generate()).slice(8, 40)) counts.set(c, (counts.get(c) ?? 0) + 1)
    }
    assert.strictEqual(counts.size, 62)
    const expected = (2000 * 32) / 62
    for (const n of counts.values()) assert.isTrue(n > expected * 0.8 && n < expected * 1.2, `count ${n}`)
  })

  it("refuses every single-character substitution at every position", () => {
    const token = Redacted.value(ApiToken.generate())
    let tried = 0
    for (let i = 0; i < token.length; i++) {
      for (const c of ALPHABET + "_-") {
        if (c === token[i]) continue
        const mutated = token.slice(0, i) + c + token.slice(i + 1)
        tried++
        assert.isUndefined(ApiToken.parse(mutated), `accepted ${i}:${c}`)
      }
    }
    assert.isAbove(tried, 2500)
  })

  it("refuses truncated, extended, transposed and look-alike values", () => {
    const token = Redacted.value(ApiToken.generate())
    const swapped = token.slice(0, 20) + token[21] + token[20] + token.slice(22)
    const refused = [
      "",
      "sk_live_",
      token.slice(0, -1),
      token + "a",
      " " + token,
      token + "\n",
      token.toUpperCase(),
      token.replace("sk_live_", "sk_test_"),
      token.replace("sk_live_", "ѕk_live_"), // Cyrillic s
      token.replace("sk_live_", "sk_lіve_"), // Cyrillic i
      token.replace("sk_live_", "sk-live-"),
      token.slice(0, 20) + "\u0000" + token.slice(21),
      token.slice(0, 20) + "é" + token.slice(21),
      "x".repeat(65536)
    ]
    if (swapped !== token) refused.push(swapped)
    for (const value of refused) assert.isUndefined(ApiToken.parse(value), JSON.stringify(value.slice(0, 60)))
  })

  it("digests deterministically: SHA-256 by default, HMAC-SHA256 under a secret", () => {
    const token = ApiToken.generate()
    const again = ApiToken.parse(Redacted.value(token))!
    assert.strictEqual(ApiToken.digest(token), ApiToken.digest(again))
    assert.match(ApiToken.digest(token), /^[0-9a-f]{64}$/)
    const a = ApiToken.digest(token, Redacted.make("one"))
    assert.strictEqual(a, ApiToken.digest(again, Redacted.make("one")))
    assert.notStrictEqual(a, ApiToken.digest(token, Redacted.make("two")))
    assert.notStrictEqual(a, ApiToken.digest(token))
    assert.notInclude(ApiToken.digest(token), Redacted.value(token))
  })

  it("hints with the prefix and the last four characters only", () => {
    const token = ApiToken.generate()
    const value = Redacted.value(token)
    assert.strictEqual(ApiToken.hint(token), `sk_live_…${value.slice(-4)}`)
  })

  it("never prints the plaintext: String, JSON and inspect all redact", () => {
    const token = ApiToken.generate()
    const value = Redacted.value(token)
    for (const printed of [String(token), JSON.stringify({ token }), inspect(token), inspect({ token }, { depth: 5 })]) {
      assert.notInclude(printed, value)
    }
  })

  it("finds tokens in text for leak response, with the checksum verified and no look-alikes", () => {
    const a = Redacted.value(ApiToken.generate())
    const b = Redacted.value(ApiToken.generate())
    const flipped = a.slice(0, 20) + (a[20] === "A" ? "B" : "A") + a.slice(21)
    const text = [
      `export API_TOKEN=${a}`,
      `{"token":"${b}"}`,
      `typo: ${flipped}`,
      `glued: x${a}`,
      `longer: ${b}Z`,
      `another prefix: sk_test_${a.slice(8)}`
    ].join("\n")
    const found = ApiToken.find(text)
    assert.deepStrictEqual(found.map((f) => Redacted.value(f.token)), [a, b])
    assert.strictEqual(text.slice(found[0]!.index, found[0]!.index + ApiToken.LENGTH), a)
    assert.deepStrictEqual(ApiToken.find("nothing here sk_live_"), [])
  })
})
