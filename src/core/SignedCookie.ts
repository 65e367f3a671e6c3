/**
 * Better Auth's signed cookies, read exactly as better-call reads them: no I/O, no clock.
 *
 * `cookie` reads one cookie as better-call's parser does (the first cookie of a name wins; a
 * leading quote drops the first and last character; `%` values are URI-decoded when they can be), and
 * `verify` is `getSignedCookie`: `<value>.<44-char standard base64 HMAC-SHA256, padded>`,
 * keyed with the UTF-8 secret, compared in constant time. Only the current secret signs.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto"

/** Longer than any cookie a browser keeps (4096 bytes): refused unread. */
export const MAX_VALUE_LENGTH = 4096

/** The value of the cookie `name` as it stands in the header (quotes dropped, not yet URI-decoded). */
const rawCookie = (header: string, name: string): string | undefined => {
  let index = 0
  while (index < header.length) {
    const eq = header.indexOf("=", index)
    if (eq === -1) return undefined
    let end = header.indexOf(";", index)
    if (end === -1) end = header.length
    else if (end < eq) {
      index = header.lastIndexOf(";", eq - 1) + 1
      continue
    }
    if (header.slice(index, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim()
      return value.codePointAt(0) === 34 ? value.slice(1, -1) : value
    }
    index = end + 1
  }
  return undefined
}

/**
 * The value of the cookie `name` in a `Cookie` header, as better-call's `parseCookies` gives
 * it (the first cookie of a name wins), reading no other cookie's value.
 */
export const cookie = (header: string, name: string): string | undefined => {
  const raw = rawCookie(header, name)
  return raw === undefined ? undefined : tryDecode(raw)
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

/** One HMAC key object per secret (an app has one): `createHmac` given bytes would set the key up each time. */
const keys = new Map<string, KeyObject>()
const keyOf = (secret: string): KeyObject => {
  let key = keys.get(secret)
  if (key === undefined) {
    if (keys.size >= 8) keys.clear()
    key = createSecretKey(Buffer.from(secret, "utf8"))
    keys.set(secret, key)
  }
  return key
}

const mac = (value: string, secret: string): Buffer => createHmac("sha256", keyOf(secret)).update(value, "utf8").digest()

/** The base64 (standard, padded) HMAC-SHA256 of `value` under `secret`, as better-call signs. */
export const sign = (value: string, secret: string): string => mac(value, secret).toString("base64")

/** The signed cookie value on the wire: `encodeURIComponent(value + "." + signature)`. */
export const serialize = (value: string, secret: string): string => encodeURIComponent(`${value}.${sign(value, secret)}`)

/**
 * The value a signed cookie carries when its signature holds; `undefined` when it is absent,
 * malformed, oversized or mis-signed (better-call's `null` and `false` alike).
 */
export const verify = (signed: string | undefined, secret: string): string | undefined => {
  if (!signed || signed.length > MAX_VALUE_LENGTH) return undefined
  const at = signed.lastIndexOf(".")
  if (at < 1) return undefined
  const value = signed.slice(0, at)
  const signature = signed.slice(at + 1)
  // The regex is atob's alphabet: Buffer alone would also take the URL-safe `-` and `_`.
  if (!SIGNATURE.test(signature)) return undefined
  const given = Buffer.from(signature, "base64")
  const expected = mac(value, secret)
  return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined
}

/** The verified value of the cookie `name` in a `Cookie` header, or `undefined`. */
export const read = (header: string | null, name: string, secret: string): string | undefined =>
  header === null ? undefined : verify(cookie(header, name), secret)

/**
 * `read` for one cookie name and secret, remembering up to `capacity` values whose signature
 * held: a browser sends the same signed value on every request, and under one secret its
 * signature cannot stop holding. Only verified values are kept, so a forged one is always
 * checked in full; the oldest is forgotten first.
 */
export const reader = (name: string, secret: string, capacity = 4096) => {
  const verified = new Map<string, string>()
  return (header: string): string | undefined => {
    const raw = rawCookie(header, name)
    if (raw === undefined) return undefined
    const known = verified.get(raw)
    if (known !== undefined) return known
    const value = verify(tryDecode(raw), secret)
    if (value !== undefined) {
      if (verified.size >= capacity) verified.delete(verified.keys().next().value!)
      verified.set(raw, value)
    }
    return value
  }
}

/**
 * The session token in an `Authorization: Bearer <value>` as Better Auth's `bearer()` plugin
 * reads it: a signed value (`token.signature`, URI-encoded or not) whose signature holds, or,
 * unless the plugin requires a signature, a bare token (the plugin signs it itself). Anything
 * else is `undefined`: refused, where the plugin would have fallen back to the cookie.
 */
export const bearerSessionToken = (value: string, secret: string, requireSignature: boolean): string | undefined => {
  if (value.includes(".")) return verify(tryDecode(value), secret)
  return requireSignature ? undefined : value
}
