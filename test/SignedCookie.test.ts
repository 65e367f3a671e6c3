/**
 * `core/SignedCookie.ts` against better-call itself: its `parseCookies` and the
 * `getSignedCookie` Better Auth's `/get-session` calls, on generated and hand-made headers.
 */
import { assert, describe, it } from "@effect/vitest"
import { createInternalContext, parseCookies as betterCallParse } from "better-call"
import fc from "fast-check"
import { cookie, MAX_VALUE_LENGTH, read, serialize, sign, verify } from "../src/core/SignedCookie.ts"

const SECRET = "test-secret-test-secret-test-secret-0123"
const NAME = "better-auth.session_token"

/** better-call's own answer: the token, or null/false (both "no session" to Better Auth). */
const oracle = async (header: string | null, name = NAME, secret = SECRET) => {
  const ctx = await createInternalContext(
    { headers: header === null ? new Headers() : new Headers({ cookie: header }) } as never,
    { options: {} as never, path: "/get-session" }
  )
  return ((await (ctx as unknown as { getSignedCookie(n: string, s: string): Promise<string | null | false> }).getSignedCookie(name, secret)) ||
    undefined)
}

const token = fc.stringMatching(/^[A-Za-z0-9]{1,40}$/)
const junk = fc.constantFrom("", ";", "=", '"', "%", "%zz", " ", ".", "%3D", "a=b", "=x", ";;", "\t")
const piece = fc.oneof(
  token.map((t) => `${NAME}=${serialize(t, SECRET)}`),
  token.map((t) => `${NAME}=${serialize(t, "another-secret-another-secret-000")}`),
  token.map((t) => `${NAME}=${encodeURIComponent(`${t}.${sign(t, SECRET).slice(0, 43)}`)}`),
  token.map((t) => `${NAME}=${t}.${sign(t, SECRET)}`),
  token.map((t) => `${NAME}="${serialize(t, SECRET)}"`),
  token.map((t) => `${NAME}=${serialize(t, SECRET).replace(/%2B|%2F/, "-")}`),
  token.map((t) => `other.session_token=${serialize(t, SECRET)}`),
  token.map((t) => `__Secure-${NAME}=${serialize(t, SECRET)}`),
  junk
)
const header = fc.array(piece, { maxLength: 5 }).chain((pieces) =>
  fc.constantFrom("; ", ";", " ; ", ", ").map((sep) => pieces.join(sep))
)

describe("SignedCookie", () => {
  it("reads each cookie exactly as better-call's parser does (the first cookie of a name wins)", () => {
    fc.assert(fc.property(header, (h) => {
      const theirs = betterCallParse(h)
      for (const name of [...theirs.keys(), NAME, `__Secure-${NAME}`, "absent"]) assert.strictEqual(cookie(h, name), theirs.get(name), name)
    }), { numRuns: 2000 })
    assert.strictEqual(cookie("a=1; a=2", "a"), "1")
    assert.strictEqual(cookie("b=%zz; a=%41", "a"), "A")
  })

  it("verifies exactly as better-call's getSignedCookie, on 2,000 generated headers", async () => {
    await fc.assert(fc.asyncProperty(header, async (h) => {
      assert.strictEqual(read(h, NAME, SECRET), await oracle(h))
    }), { numRuns: 2000 })
  })

  it("takes a signed token, and refuses unsigned, mis-signed, truncated, URL-safe and oversized values", async () => {
    const t = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    const good = decodeURIComponent(serialize(t, SECRET))
    assert.strictEqual(verify(good, SECRET), t)
    assert.strictEqual(await oracle(`${NAME}=${serialize(t, SECRET)}`), t)
    for (const bad of [undefined, "", t, `${t}.`, `.${sign(t, SECRET)}`, good.slice(0, -1), good.slice(0, -2) + "=",
      `${t}x.${sign(t, SECRET)}`, good.replace(/.=$/, (c) => (c[0] === "A" ? "B=" : "A=")), good.replace("+", "-").replace("/", "_")]) {
      if (bad === good) continue
      assert.isUndefined(verify(bad, SECRET), String(bad))
    }
    assert.isUndefined(verify(good, "another-secret-another-secret-000"))
    const long = "x".repeat(MAX_VALUE_LENGTH)
    assert.isUndefined(verify(`${long}.${sign(long, SECRET)}`, SECRET))
    assert.isUndefined(read(null, NAME, SECRET))
  })

  it("accepts the non-canonical last base64 character, as atob does", async () => {
    const t = "tok"
    const sig = sign(t, SECRET)
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    const last = alphabet.indexOf(sig[42]!)
    for (let low = 0; low < 4; low++) {
      const variant = `${sig.slice(0, 42)}${alphabet[(last & ~3) | low]}=`
      const h = `${NAME}=${encodeURIComponent(`${t}.${variant}`)}`
      assert.strictEqual(read(h, NAME, SECRET), await oracle(h))
      assert.strictEqual(read(h, NAME, SECRET), t)
    }
  })
})
