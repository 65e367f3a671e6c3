/**
 * Every failure fusion-auth names. The first three are the only ways session resolution
 * refuses a caller; the rest belong to the token and user operations. Fields are safe to
 * log (a reason, an id, a field name): never a token, a digest or a cookie value.
 * Infrastructure failures (database down, Better Auth throwing) are defects, never these.
 */
import { Schema } from "effect"

/** Which credential a request presented. */
export type Credential = "cookie" | "token"

/** No credential, or a cookie that names no live session. */
export class Anonymous extends Schema.TaggedError<Anonymous>()("Anonymous", {}) {
  override get message() {
    return "No signed-in session"
  }
}

/**
 * A live credential whose user is locked out (see `core/LockOut.ts`): deactivated by an admin,
 * or banned by Better Auth's admin plugin. `reason` says which; a ban's own reason text never
 * travels here. Reactivation, an unban or a ban's expiry lets the same credential back in.
 */
export class Deactivated extends Schema.TaggedError<Deactivated>()("Deactivated", {
  userId: Schema.String,
  credential: Schema.Literals(["cookie", "token"]),
  reason: Schema.Literals(["deactivated", "banned"])
}) {
  override get message() {
    return `User ${this.userId} is ${this.reason}`
  }
}

/**
 * Why a Bearer credential was refused. `malformed` is decided with no I/O; `removed`: a token
 * acting for an organization whose owner is no longer a member of it (removed, or the
 * organization deleted).
 */
export const InvalidTokenReason = Schema.Literals(["malformed", "unknown", "revoked", "expired", "removed"])
export type InvalidTokenReason = typeof InvalidTokenReason.Type

/** A Bearer credential that is not a live token. Carries the token id once one is known. */
export class InvalidToken extends Schema.TaggedError<InvalidToken>()("InvalidToken", {
  reason: InvalidTokenReason,
  tokenId: Schema.optional(Schema.String)
}) {
  override get message() {
    return `Invalid API token (${this.reason})${this.tokenId === undefined ? "" : ` ${this.tokenId}`}`
  }
}

/** The only failures of session resolution. Infrastructure failures are defects, never these. */
export type AuthError = Anonymous | Deactivated | InvalidToken

/** True for one of the three authentication errors. */
export const isAuthError = (error: unknown): error is AuthError =>
  error instanceof Anonymous || error instanceof Deactivated || error instanceof InvalidToken

/**
 * A signed-in caller without the right an operation needs: a token lacking the scope, or a
 * user who may not grant it. Authorization, not authentication: a 403, never a login page.
 */
export class InsufficientScope extends Schema.TaggedError<InsufficientScope>()("InsufficientScope", {
  scope: Schema.String,
  credential: Schema.Literals(["cookie", "token"])
}) {
  override get message() {
    return `Missing scope ${this.scope}`
  }
}

/** The user an operation names does not exist. */
export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", {
  userId: Schema.String
}) {
  override get message() {
    return `No user ${this.userId}`
  }
}

/** No token with this id belongs to this user (another user's token is not found either). */
export class TokenNotFound extends Schema.TaggedError<TokenNotFound>()("TokenNotFound", {
  tokenId: Schema.String
}) {
  override get message() {
    return `No token ${this.tokenId}`
  }
}

/** A token operation was given a value it refuses; `field` names which one. */
export class InvalidTokenInput extends Schema.TaggedError<InvalidTokenInput>()("InvalidTokenInput", {
  field: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `Invalid ${this.field}: ${this.problem}`
  }
}

/**
 * A session under impersonation (Better Auth's admin plugin, `impersonatedBy`) asked to mint or
 * rotate a token: a token would keep the admin's borrowed power after the impersonation ends.
 */
export class ImpersonationRefused extends Schema.TaggedError<ImpersonationRefused>()("ImpersonationRefused", {
  action: Schema.Literals(["create", "rotate"])
}) {
  override get message() {
    return `A session under impersonation cannot ${this.action} API tokens`
  }
}

/**
 * This process's token secret is not the one the app's own `migrate()` recorded (its
 * fingerprint, see `TokenSecret.fingerprint`): digests it computed would match no token the
 * app issued, and tokens it minted would be refused by the app. So it refuses to mint, rotate
 * or revoke by value; revoking by id and listing, which read no digest, still work. A
 * misconfiguration of the server, not of the caller: at the endpoints a 500 that names
 * nothing. Carries no field: never a secret or a fingerprint.
 */
export class TokenSecretMismatch extends Schema.TaggedError<TokenSecretMismatch>()("TokenSecretMismatch", {}) {
  override get message() {
    return "this process's token secret does not match the app's (set FUSION_AUTH_TOKEN_SECRET to the app's tokenSecret)"
  }
}

/**
 * A token caller past its rate limit (`reason: "exceeded"`: a 429 with `Retry-After` and the
 * RateLimit headers), or a limit that could not be counted while the app fails closed
 * (`"unavailable"`: a 503). Not an authentication answer: the step after resolution
 * (`services/RateLimiter.ts`) refuses with it. `retryAfter` is in seconds.
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  reason: Schema.Literals(["exceeded", "unavailable"]),
  scope: Schema.Literals(["token", "user"]),
  limit: Schema.Number,
  window: Schema.Number,
  retryAfter: Schema.Number,
  tokenId: Schema.optional(Schema.String)
}) {
  override get message() {
    return this.reason === "exceeded"
      ? `Rate limit of ${this.limit} requests per ${this.window} s (${this.scope}) exceeded`
      : "The rate limit could not be counted"
  }
}

/** Every tagged error fusion-auth names: what `errorResponse` answers. */
export type FusionAuthError =
  | AuthError
  | InsufficientScope
  | UserNotFound
  | TokenNotFound
  | InvalidTokenInput
  | ImpersonationRefused
  | TokenSecretMismatch
  | RateLimited

/** True for any error fusion-auth names (not a defect). */
export const isFusionAuthError = (error: unknown): error is FusionAuthError =>
  isAuthError(error) || error instanceof InsufficientScope || error instanceof UserNotFound ||
  error instanceof TokenNotFound || error instanceof InvalidTokenInput || error instanceof ImpersonationRefused ||
  error instanceof TokenSecretMismatch || error instanceof RateLimited
