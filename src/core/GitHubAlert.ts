/**
 * GitHub's secret-scanning partner alerts, the pure parts: the report's shape, its signature
 * (ECDSA P-256 with SHA-256 over the raw body, a base64 DER signature), the key list's shape
 * and the answer GitHub expects. No I/O: the handler (`adapters/GitHubSecretScanning.ts`) reads,
 * fetches and revokes.
 *
 * See https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto"
import { Schema } from "effect"

/** Where GitHub publishes the keys it signs alerts with. */
export const KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"

/** At most this many matches in one report. */
export const MAX_MATCHES = 1000

/** One match GitHub reports: the value found, the pattern's type, where, and in what. */
export const Match = Schema.Struct({
  token: Schema.String.check(Schema.isMaxLength(1024)),
  type: Schema.String.check(Schema.isMaxLength(256)),
  url: Schema.String.check(Schema.isMaxLength(4096)),
  source: Schema.String.check(Schema.isMaxLength(256))
})
export type Match = typeof Match.Type

/** A report: a JSON array of 1 to `MAX_MATCHES` matches. */
export const Report = Schema.Array(Match).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_MATCHES))

/** GitHub's key list, as `KEYS_URL` serves it. */
export const KeyList = Schema.Struct({
  public_keys: Schema.Array(Schema.Struct({ key_identifier: Schema.String, key: Schema.String })).check(Schema.isMaxLength(100))
})
export type PublicKey = (typeof KeyList.Type)["public_keys"][number]

/** The headers' shapes: a key id, and a base64 DER signature (a P-256 one is at most 72 bytes). */
export const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/
export const SIGNATURE = /^[A-Za-z0-9+/]{20,200}={0,2}$/

/** A key of the list as a verifier's key, or `undefined` when it is not an EC P-256 public key. */
export const publicKey = (pem: string): KeyObject | undefined => {
  try {
    const key = createPublicKey(pem)
    return key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1" ? key : undefined
  } catch {
    return undefined
  }
}

/** True when `signature` (base64 DER) is `key`'s ECDSA-SHA256 signature of exactly these bytes. */
export const verifySignature = (body: Uint8Array, signature: string, key: KeyObject): boolean => {
  try {
    return verify("sha256", body, { key, dsaEncoding: "der" }, Buffer.from(signature, "base64"))
  } catch {
    return false
  }
}

/** The replay key of a body: its SHA-256 (a signature can be re-encoded; the signed bytes cannot). */
export const bodyDigest = (body: Uint8Array): string => createHash("sha256").update(body).digest("hex")

/** One line of GitHub's expected answer: the token hashed (never echoed raw), its type, the verdict. */
export interface Verdict {
  readonly token_hash: string
  readonly token_type: string
  readonly label: "true_positive" | "false_positive"
}

export const verdict = (match: Match, ours: boolean): Verdict => ({
  token_hash: createHash("sha256").update(match.token).digest("hex"),
  token_type: match.type,
  label: ours ? "true_positive" : "false_positive"
})

/**
 * Where a match was found, for the audit trail: the source and URL GitHub gave, with control
 * characters dropped and the length bounded (the store replaces the token itself by its hint).
 */
export const whereFound = (match: Match): string => {
  // eslint-disable-next-line no-control-regex
  const clean = (text: string, max: number) => text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "").slice(0, max)
  return `reported by GitHub secret scanning: ${clean(match.source, 64) || "unknown"} ${clean(match.url, 2048) || "(no url)"}`
}
