/**
 * API token format: generate, parse, digest and hint. Pure: no database, no clock.
 *
 * A token is the app's prefix (default `sk_live_`) + 32 base62 characters of randomness
 * (≈190 bits) + a 6-character base62 CRC32 of everything before it. The checksum lets a
 * mistyped, truncated or look-alike value be refused with no I/O, and lets secret scanners
 * match tokens exactly. Only a SHA-256 digest (HMAC-SHA256 when a server secret is given) is
 * ever stored.
 *
 * A `Format` is the app's prefix and the earlier prefixes it still accepts (`format`); the
 * module-level `generate`, `parse` and `find` are the default format's.
 */
import { createHmac, hash, randomBytes } from "node:crypto"
import { crc32 } from "node:zlib"
import { Redacted } from "effect"

/** The default prefix. An app should choose its own (docs/api-tokens.md: Stripe's is the same). */
export const PREFIX = "sk_live_"
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const RANDOM_LENGTH = 32
const CHECKSUM_LENGTH = 6
/** What follows the prefix: the random part and the checksum, all base62. */
export const BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH
/** The exact length of a default-prefix token; anything longer or shorter is malformed before it is read. */
export const LENGTH = PREFIX.length + BODY_LENGTH

/**
 * A prefix: lower-case words of ASCII letters and digits, each followed by one `_`, starting
 * with a letter; 4 to 24 characters (`acme_`, `acme_live_`). The trailing `_` and the
 * base62-only body are what make a token's prefix unambiguous: no token of one accepted
 * prefix can be read as a token of another.
 */
export const PREFIX_PATTERN = /^[a-z][a-z0-9]*_(?:[a-z0-9]+_)*$/
/**
 * The shape of a token of any prefix: a value of this shape is a token (if only of a prefix
 * this app does not accept), never a Better Auth session token.
 */
export const ANY_PREFIX_SHAPE = /^[a-z][a-z0-9]*_(?:[a-z0-9]+_)*[0-9A-Za-z]+$/
const PREFIX_MIN = 4
const PREFIX_MAX = 24

/** A token that passed `parse`: an accepted prefix, length, alphabet and checksum. Still secret. */
export type ApiToken = Redacted.Redacted<string> & { readonly __ApiToken: unique symbol }

/** What is wrong with a prefix, in a few words, or `undefined` when it is a good one. */
export const prefixProblem = (prefix: unknown): string | undefined => {
  if (typeof prefix !== "string" || prefix.length === 0) return "is empty"
  if (!prefix.endsWith("_")) return `must end with "_"`
  if (prefix.length < PREFIX_MIN || prefix.length > PREFIX_MAX) return `must be ${PREFIX_MIN} to ${PREFIX_MAX} characters`
  if (!PREFIX_PATTERN.test(prefix)) {
    return `must be lower-case letters and digits, starting with a letter, in words each ended by one "_"`
  }
  return undefined
}

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

const BASE62_BODY = new RegExp(`^[0-9A-Za-z]{${BODY_LENGTH}}$`)

/** The app's token format: the prefix new tokens get, and every prefix still accepted. */
export interface Format {
  /** The prefix of new tokens. */
  readonly prefix: string
  /** Every accepted prefix: `prefix` first, then the legacy ones. */
  readonly prefixes: ReadonlyArray<string>
  /** The longest token of any accepted prefix: longer input is refused unread. */
  readonly maxLength: number
  /** A fresh token with `prefix`. The plaintext exists only inside the returned `Redacted`. */
  generate(): ApiToken
  /** A token of an accepted prefix whose checksum holds, or `undefined` (no I/O). */
  parse(candidate: string): ApiToken | undefined
  /** Every token of an accepted prefix in a text whose checksum holds, for leak response. */
  find(text: string): ReadonlyArray<{ readonly token: ApiToken; readonly index: number }>
}

/**
 * The format of `prefix` that also accepts tokens minted under `legacy` prefixes (until they
 * expire). Throws at start-up, with one line naming the problem, on a prefix that is not a
 * good one (see `prefixProblem`) or one given twice.
 */
export const format = (prefix: string = PREFIX, legacy: ReadonlyArray<string> = []): Format => {
  const prefixes = [prefix, ...legacy]
  for (const candidate of prefixes) {
    const problem = prefixProblem(candidate)
    if (problem !== undefined) throw new Error(`fusion-auth: token prefix ${JSON.stringify(candidate)} ${problem}`)
  }
  const twice = prefixes.find((p, i) => prefixes.indexOf(p) !== i)
  if (twice !== undefined) throw new Error(`fusion-auth: token prefix ${JSON.stringify(twice)} is given twice`)
  const candidates = new RegExp(`(?:${prefixes.join("|")})[0-9A-Za-z]{${BODY_LENGTH}}(?![0-9A-Za-z_])`, "g")

  const parse = (candidate: string): ApiToken | undefined => {
    if (typeof candidate !== "string") return undefined
    const at = candidate.length - BODY_LENGTH
    if (at < PREFIX_MIN || !prefixes.includes(candidate.slice(0, at))) return undefined
    const tail = candidate.slice(at)
    if (!BASE62_BODY.test(tail)) return undefined
    const body = candidate.slice(0, candidate.length - CHECKSUM_LENGTH)
    return checksum(body) === candidate.slice(-CHECKSUM_LENGTH) ? brand(candidate) : undefined
  }

  return {
    prefix,
    prefixes,
    maxLength: Math.max(...prefixes.map((p) => p.length)) + BODY_LENGTH,
    generate: () => {
      const body = prefix + randomBase62(RANDOM_LENGTH)
      return brand(body + checksum(body))
    },
    parse,
    // A match glued to a word character (`xacme_…`, `…_x`) is part of another word, not a token.
    find: (text) =>
      [...text.matchAll(candidates)].flatMap((match) => {
        const before = match.index === 0 ? "" : text[match.index - 1]!
        const token = /[0-9A-Za-z_]/.test(before) ? undefined : parse(match[0])
        return token === undefined ? [] : [{ token, index: match.index }]
      })
  }
}

/** The default format: `sk_live_` only. */
export const DEFAULT: Format = format()

/** A fresh default-prefix token. */
export const generate = (): ApiToken => DEFAULT.generate()

/**
 * Checks a candidate against the default format without I/O. Returns `undefined` for anything
 * that is not a token this library could have issued, so a malformed value never reaches the
 * database.
 */
export const parse = (candidate: string): ApiToken | undefined => DEFAULT.parse(candidate)

/**
 * Finds default-prefix tokens in any text (a log, a commit, a paste). Only values whose
 * checksum holds are returned, so look-alikes are never reported.
 */
export const find = (text: string): ReadonlyArray<{ readonly token: ApiToken; readonly index: number }> => DEFAULT.find(text)

/**
 * The value stored and looked up: hex SHA-256 of the token, or HMAC-SHA256 under `secret`
 * (then a leaked table cannot even be brute-forced offline without the secret too).
 */
export const digest = (token: ApiToken, secret?: Redacted.Redacted<string>): string =>
  secret === undefined
    ? hash("sha256", Redacted.value(token), "hex") // one call: a Hash object costs the request path twice as much
    : createHmac("sha256", Redacted.value(secret)).update(Redacted.value(token)).digest("hex")

/** What a person sees to recognise a token in a list: its own prefix, `…` and its last 4 characters. */
export const hint = (token: ApiToken): string => {
  const value = Redacted.value(token)
  return `${value.slice(0, value.length - BODY_LENGTH)}…${value.slice(-4)}`
}
