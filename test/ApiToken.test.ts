import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { createHash, createHmac } from "node:crypto"
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
    // The digests earlier releases stored, so their tokens are still found.
    assert.strictEqual(ApiToken.digest(token), createHash("sha256").update(Redacted.value(token)).digest("hex"))
    assert.strictEqual(a, createHmac("sha256", "one").update(Redacted.value(token)).digest("hex"))
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

describe("ApiToken.format: the app's own prefix", () => {
  const acme = ApiToken.format("acme_")
  const moved = ApiToken.format("acme_", ["sk_live_"])

  it("mints tokens with the app's prefix whose checksum covers it; another prefix's tokens are malformed", () => {
    for (let i = 0; i < 500; i++) {
      const token = Redacted.value(acme.generate())
      assert.match(token, /^acme_[0-9A-Za-z]{38}$/)
      assert.isDefined(acme.parse(token))
      assert.isUndefined(ApiToken.parse(token), "the default format refuses acme_")
      // The same body under another prefix: the checksum no longer holds, whatever the prefix.
      assert.isUndefined(moved.parse(`sk_live_${token.slice(5)}`))
      assert.isUndefined(ApiToken.format("acme_live_").parse(`acme_live_${token.slice(5)}`))
    }
    assert.isUndefined(acme.parse(Redacted.value(ApiToken.generate())), "sk_live_ is not acme_'s")
    assert.strictEqual(acme.maxLength, 5 + 38)
  })

  it("keeps accepting a legacy prefix's tokens after a change, and mints only with the new one", () => {
    const old = Redacted.value(ApiToken.generate())
    assert.isDefined(moved.parse(old))
    assert.match(Redacted.value(moved.generate()), /^acme_/)
    assert.deepStrictEqual(moved.prefixes, ["acme_", "sk_live_"])
    assert.strictEqual(moved.maxLength, ApiToken.LENGTH)
  })

  it("refuses every single-character substitution of an acme_ token, and truncated or extended ones", () => {
    const token = Redacted.value(acme.generate())
    for (let i = 0; i < token.length; i++) {
      for (const c of ALPHABET + "_-") {
        if (c !== token[i]) assert.isUndefined(moved.parse(token.slice(0, i) + c + token.slice(i + 1)), `accepted ${i}:${c}`)
      }
    }
    for (const value of [token.slice(0, -1), token + "a", "acme_", token.replace("acme_", "ACME_"), token.replace("acme_", "acme-")]) {
      assert.isUndefined(moved.parse(value), value.slice(0, 8))
    }
  })

  it("finds tokens of every accepted prefix in text, checksum verified, never one glued to a word", () => {
    const a = Redacted.value(acme.generate())
    const b = Redacted.value(ApiToken.generate())
    const c = Redacted.value(acme.generate())
    const text = `new ${a}\nold "${b}"\nglued x${c} and b_${c}\ntypo ${a.slice(0, -1)}${a.endsWith("0") ? "1" : "0"}`
    assert.deepStrictEqual(moved.find(text).map((f) => Redacted.value(f.token)), [a, b])
    assert.deepStrictEqual(acme.find(text).map((f) => Redacted.value(f.token)), [a])
    assert.deepStrictEqual(ApiToken.find(text).map((f) => Redacted.value(f.token)), [b])
  })

  it("hints with the token's own prefix", () => {
    const token = acme.generate()
    assert.strictEqual(ApiToken.hint(token), `acme_…${Redacted.value(token).slice(-4)}`)
  })

  it("refuses an ambiguous prefix at start-up, with one line naming the problem", () => {
    const refused: ReadonlyArray<readonly [string, string]> = [
      ["", "is empty"],
      ["acme", `must end with "_"`],
      ["acme-", `must end with "_"`],
      ["a_", "must be 4 to 24 characters"],
      ["abcdefghijklmnopqrstuvwxy_", "must be 4 to 24 characters"],
      ["Acme_", "lower-case"],
      ["ACME_", "lower-case"],
      ["_acme_", "lower-case"],
      ["acme__", "lower-case"],
      ["1acme_", "lower-case"],
      ["ac-me_", "lower-case"],
      ["ac me_", "lower-case"],
      ["ac.me_", "lower-case"],
      ["ａcme_", "lower-case"], // a full-width a
      ["ѕk_live_", "lower-case"], // a Cyrillic s
      ["acme\n_", "lower-case"]
    ]
    for (const [prefix, problem] of refused) {
      assert.throws(() => ApiToken.format(prefix), problem, JSON.stringify(prefix))
      try {
        ApiToken.format("good_", [prefix])
      } catch (error) {
        const message = (error as Error).message
        assert.strictEqual(message.split("\n").length, 1, JSON.stringify(prefix))
        assert.include(message, `token prefix ${JSON.stringify(prefix)}`)
      }
    }
    assert.throws(() => ApiToken.format("acme_", ["acme_"]), `token prefix "acme_" is given twice`)
    for (const good of ["acme_", "sk_live_", "acme_live_", "gh1_", "x1y2_z3_"]) assert.strictEqual(ApiToken.format(good).prefix, good)
  })
})
