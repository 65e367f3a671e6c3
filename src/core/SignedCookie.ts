/**
 * Better Auth's signed cookies, read exactly as better-call reads them: no I/O, no clock.
 *
 * `parseCookies` is better-call's parser (the first cookie of a name wins; a leading quote
 * drops the first and last character; `%` values are URI-decoded when they can be), and
 * `verify` is `getSignedCookie`: `<value>.<44-char standard base64 HMAC-SHA256, padded>`,
 * keyed with the UTF-8 secret, compared in constant time. Only the current secret signs.
 */
import { createHash, createHmac, type Hash, timingSafeEqual } from "node:crypto"

/** Longer than any cookie a browser keeps (4096 bytes): refused unread. */
export const MAX_VALUE_LENGTH = 4096

/** The cookies of a `Cookie` header, by name; the first occurrence of a name wins. */
export const parseCookies = (header: string): Map<string, string> => {
  const cookies = new Map<string, string>()
  let index = 0
  while (index < header.length) {
    const eq = header.indexOf("=", index)
    if (eq === -1) break
    let end = header.indexOf(";", index)
    if (end === -1) end = header.length
    else if (end < eq) {
      index = header.lastIndexOf(";", eq - 1) + 1
      continue
    }
    const key = header.slice(index, eq).trim()
    if (!cookies.has(key)) {
      let value = header.slice(eq + 1, end).trim()
      if (value.codePointAt(0) === 34) value = value.slice(1, -1)
      cookies.set(key, tryDecode(value))
    }
    index = end + 1
  }
  return cookies
}

const tryDecode = (value: string) => {
  if (!value.includes("%")) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

const SIGNATURE = /^[A-Za-z0-9+/]{43}=$/

/** The base64 (standard, padded) HMAC-SHA256 of `value` under `secret`, as better-call signs. */
export const sign = (value: string, secret: string): string =>
  createHmac("sha256", Buffer.from(secret, "utf8")).update(value, "utf8").digest("base64")

/** The signed cookie value on the wire: `encodeURIComponent(value + "." + signature)`. */
export const serialize = (value: string, secret: string): string => encodeURIComponent(`${value}.${sign(value, secret)}`)

/**
 * HMAC-SHA256 under one secret, keyed once (RFC 2104: the SHA-256 states after the padded key
 * XOR ipad and opad), then `copy()` per message: `createHmac` would set the key up each time.
 */
const keyed = (secret: string): ((value: string) => Buffer) => {
  let key = Buffer.from(secret, "utf8")
  if (key.length > 64) key = createHash("sha256").update(key).digest()
  const pad = (byte: number): Hash => createHash("sha256").update(Buffer.from(Array.from({ length: 64 }, (_, i) => (key[i] ?? 0) ^ byte)))
  const inner = pad(0x36)
  const outer = pad(0x5c)
  return (value) => outer.copy().update(inner.copy().update(value, "utf8").digest()).digest()
}

/** One keyed HMAC per secret (an app has one). */
const macs = new Map<string, (value: string) => Buffer>()
const macOf = (secret: string) => {
  let mac = macs.get(secret)
  if (mac === undefined) {
    if (macs.size >= 8) macs.clear()
    mac = keyed(secret)
    macs.set(secret, mac)
  }
  return mac
}

/**
 * The value a signed cookie carries when its signature holds; `undefined` when it is absent,
 * malformed, oversized or mis-signed (better-call's `null` and `false` alike).
 */
export const verify = (cookie: string | undefined, secret: string): string | undefined => {
  if (!cookie || cookie.length > MAX_VALUE_LENGTH) return undefined
  const at = cookie.lastIndexOf(".")
  if (at < 1) return undefined
  const value = cookie.slice(0, at)
  const signature = cookie.slice(at + 1)
  // The regex is atob's alphabet: Buffer alone would also take the URL-safe `-` and `_`.
  if (!SIGNATURE.test(signature)) return undefined
  const given = Buffer.from(signature, "base64")
  const expected = macOf(secret)(value)
  return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined
}

/** The verified value of the cookie `name` in a `Cookie` header, or `undefined`. */
export const read = (header: string | null, name: string, secret: string): string | undefined =>
  header === null ? undefined : verify(parseCookies(header).get(name), secret)
