/**
 * The server secret for token digests, or none: with one, digests are HMAC-SHA256 under it;
 * without, plain SHA-256.
 *
 * A requirement of the token layers, never a silent default: changing it invalidates every
 * stored token, so a layer that read the wrong one would refuse them all. The app's own
 * `migrate()` records the `fingerprint` of its secret (`sql/DigestScheme.ts`), and a process
 * whose fingerprint differs refuses to mint or to revoke by value (`TokenSecretMismatch`).
 */
import { createHmac } from "node:crypto"
import { Context, Layer, Redacted } from "effect"

export class TokenSecret extends Context.Service<TokenSecret, Redacted.Redacted<string> | undefined>()("fusion-auth/TokenSecret") {
  /** This secret (`undefined`: none); a plain string is wrapped in `Redacted`. */
  static readonly layer = (secret?: string | Redacted.Redacted<string> | undefined): Layer.Layer<TokenSecret> =>
    Layer.succeed(TokenSecret, secret === undefined || Redacted.isRedacted(secret) ? secret : Redacted.make(secret))
}

/** The fingerprint of no secret: plain SHA-256 digests. */
export const SHA256 = "sha256"

/** What the secret's fingerprint is an HMAC of: a fixed label, never a token, so it is no token's digest. */
const FINGERPRINT_LABEL = "fusion-auth digest fingerprint v1"

/**
 * Which digest scheme a secret gives, safe to store and to compare: `sha256` for none, else
 * `hmac-sha256:` and the first 16 hex characters (64 bits) of HMAC-SHA256(secret, a fixed
 * label). Two processes with the same fingerprint compute the same digests. It names neither
 * the secret nor any token's digest (the label is not a token), so it helps no one forge one;
 * the 64 bits tell secrets apart, not more.
 */
export const fingerprint = (secret: string | Redacted.Redacted<string> | undefined): string =>
  secret === undefined
    ? SHA256
    : `hmac-sha256:${
      createHmac("sha256", Redacted.isRedacted(secret) ? Redacted.value(secret) : secret).update(FINGERPRINT_LABEL).digest("hex").slice(0, 16)
    }`
