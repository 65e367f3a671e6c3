/**
 * The server secret for token digests, or none: with one, digests are HMAC-SHA256 under it;
 * without, plain SHA-256.
 *
 * A requirement of the token layers, never a silent default: changing it invalidates every
 * stored token, so a layer that read the wrong one would refuse them all.
 */
import { Context, Layer, Redacted } from "effect"

export class TokenSecret extends Context.Service<TokenSecret, Redacted.Redacted<string> | undefined>()("fusion-auth/TokenSecret") {
  /** This secret (`undefined`: none); a plain string is wrapped in `Redacted`. */
  static readonly layer = (secret?: string | Redacted.Redacted<string> | undefined): Layer.Layer<TokenSecret> =>
    Layer.succeed(TokenSecret, secret === undefined || Redacted.isRedacted(secret) ? secret : Redacted.make(secret))
}
