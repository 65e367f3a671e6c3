/**
 * API token format: generate, parse, digest and hint. Pure: no database, no clock.
 *
 * A token is `sk_live_` + 32 base62 characters of randomness (≈190 bits) + a 6-character
 * base62 CRC32 of everything before it. The checksum lets a mistyped, truncated or
 * look-alike value be refused with no I/O, and lets secret scanners match tokens exactly.
 * Only a SHA-256 digest (HMAC-SHA256 when a server secret is given) is ever stored.
 */
import { createHash, createHmac, randomBytes } from "node:crypto"
import { crc32 } from "node:zlib"
import { Redacted } from "effect"

export const PREFIX = "sk_live_"
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const RANDOM_LENGTH = 32
const CHECKSUM_LENGTH = 6
/** The exact length of every token; anything longer or shorter is malformed before it is read. */
export const LENGTH = PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH
const SHAPE = new RegExp(`^${PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`)

/** A token that passed `parse`: right prefix, length, alphabet and checksum. Still secret. */
export type ApiToken = Redacted.Redacted<string> & { readonly __ApiToken: unique symbol }

const base62 = (n: number, width: number): string => {
  let out = ""
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

const checksum = (body: string): string => base62(crc32(body), CHECKSUM_LENGTH)

/** Random base62 by rejection sampling: bytes ≥ 248 are dropped so every character is uniform. */
const randomBase62 = (length: number): string => {
  let out = ""
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62]
    }
  }
  return out
}

const brand = (value: string): ApiToken => Redacted.make(value, { label: "ApiToken" }) as ApiToken

/** A fresh token. The plaintext exists only inside the returned `Redacted`. */
export const generate = (): ApiToken => {
  const body = PREFIX + randomBase62(RANDOM_LENGTH)
  return brand(body + checksum(body))
}

/**
 * Checks a candidate without I/O. Returns `undefined` for anything that is not a token this
 * library could have issued, so a malformed value never reaches the database.
 */
export const parse = (candidate: string): ApiToken | undefined => {
  if (candidate.length !== LENGTH || !SHAPE.test(candidate)) return undefined
  const body = candidate.slice(0, LENGTH - CHECKSUM_LENGTH)
  return checksum(body) === candidate.slice(LENGTH - CHECKSUM_LENGTH) ? brand(candidate) : undefined
}

/**
 * The value stored and looked up: hex SHA-256 of the token, or HMAC-SHA256 under `secret`
 * (then a leaked table cannot even be brute-forced offline without the secret too).
 */
export const digest = (token: ApiToken, secret?: Redacted.Redacted<string>): string =>
  (secret === undefined
    ? createHash("sha256")
    : createHmac("sha256", Redacted.value(secret))
  ).update(Redacted.value(token)).digest("hex")

/** What a person sees to recognise a token in a list: `sk_live_…` and its last 4 characters. */
export const hint = (token: ApiToken): string => `${PREFIX}…${Redacted.value(token).slice(-4)}`

const CANDIDATE = new RegExp(`${PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}(?![0-9A-Za-z])`, "g")

/**
 * Finds fusion-auth tokens in any text (a log, a commit, a paste), for leak response. Only
 * values whose checksum holds are returned, so look-alikes are never reported.
 */
export const find = (text: string): ReadonlyArray<{ readonly token: ApiToken; readonly index: number }> =>
  [...text.matchAll(CANDIDATE)].flatMap((match) => {
    const before = match.index === 0 ? "" : text[match.index - 1]!
    const token = /[0-9A-Za-z_]/.test(before) ? undefined : parse(match[0])
    return token === undefined ? [] : [{ token, index: match.index }]
  })
