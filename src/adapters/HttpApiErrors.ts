/**
 * fusion-auth's 401 and 403 as Effect HttpApi errors: `Unauthorized` and `Forbidden` values,
 * and the schemas (`UnauthorizedResponse`, `ForbiddenResponse`) that put them on the wire.
 *
 * What they answer is `errorParts` (src/core/Http.ts), the same status, body and headers as
 * `errorResponse`: the schemas only declare that shape, for OpenAPI and typed clients. The
 * surprising part: the error values carry the response's body and headers, not the fusion-auth
 * error, so a generated client decodes exactly what the server sent and nothing more (not
 * the token's state, not the user's id).
 */
import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"
import type { AuthError, InsufficientScope, RateLimited } from "../core/Errors.ts"
import { errorParts } from "../core/Http.ts"

const UnauthorizedBody = Schema.Struct({
  error: Schema.Literals(["invalid_token", "unauthorized"]),
  reason: Schema.Literals(["Anonymous", "Deactivated", "InvalidToken"])
})

const UnauthorizedHeaders = Schema.Struct({
  "www-authenticate": Schema.String,
  "cache-control": Schema.String
})

const ForbiddenBody = Schema.Struct({
  error: Schema.Literal("insufficient_scope"),
  /** Absent when the value is not a scope name: it is echoed nowhere. */
  scope: Schema.optionalKey(Schema.String)
})

const ForbiddenHeaders = Schema.Struct({
  "www-authenticate": Schema.optionalKey(Schema.String),
  "cache-control": Schema.String
})

const RateLimitedBody = Schema.Struct({
  error: Schema.Literal("rate_limited"),
  reason: Schema.Literal("RateLimited"),
  scope: Schema.Literals(["token", "user"])
})

const RateLimitedHeaders = Schema.Struct({
  "retry-after": Schema.String,
  "ratelimit-policy": Schema.String,
  ratelimit: Schema.String,
  "cache-control": Schema.String
})

const UncountedBody = Schema.Struct({
  error: Schema.Literal("temporarily_unavailable"),
  reason: Schema.Literal("RateLimited")
})

const UncountedHeaders = Schema.Struct({
  "retry-after": Schema.String,
  "cache-control": Schema.String
})

const unauthorizedParts = Schema.decodeUnknownSync(Schema.Struct({ body: UnauthorizedBody, headers: UnauthorizedHeaders }))
const forbiddenParts = Schema.decodeUnknownSync(Schema.Struct({ body: ForbiddenBody, headers: ForbiddenHeaders }))
const rateLimitedParts = Schema.decodeUnknownSync(Schema.Struct({ body: RateLimitedBody, headers: RateLimitedHeaders }))
const uncountedParts = Schema.decodeUnknownSync(Schema.Struct({ body: UncountedBody, headers: UncountedHeaders }))

/** A refused caller (`Anonymous`, `Deactivated`, `InvalidToken`) as the HttpApi 401. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  body: UnauthorizedBody,
  headers: UnauthorizedHeaders
}) {
  /** The 401 `errorResponse` gives this error. */
  static from(error: AuthError): Unauthorized {
    return new Unauthorized(unauthorizedParts(errorParts(error)))
  }

  override get message() {
    return `Unauthorized (${this.body.reason})`
  }
}

/** A signed-in caller without a scope (`InsufficientScope`) as the HttpApi 403. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  body: ForbiddenBody,
  headers: ForbiddenHeaders
}) {
  /** The 403 `errorResponse` gives this error. */
  static from(error: InsufficientScope): Forbidden {
    return new Forbidden(forbiddenParts(errorParts(error)))
  }

  override get message() {
    return "Missing scope"
  }
}

/** A token caller past its rate limit (`RateLimited`, reason `exceeded`) as the HttpApi 429. */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  body: RateLimitedBody,
  headers: RateLimitedHeaders
}) {
  override get message() {
    return `Rate limited (${this.body.scope})`
  }
}

/** A rate limit that could not be counted while the app fails closed (`RateLimited`, reason `unavailable`) as the HttpApi 503. */
export class RateLimitUnavailable extends Schema.TaggedError<RateLimitUnavailable>()("RateLimitUnavailable", {
  body: UncountedBody,
  headers: UncountedHeaders
}) {
  override get message() {
    return "Rate limit not counted"
  }
}

/** The 429 or 503 `errorResponse` gives a `RateLimited`. */
export const fromRateLimited = (error: RateLimited): TooManyRequests | RateLimitUnavailable =>
  error.reason === "exceeded"
    ? new TooManyRequests(rateLimitedParts(errorParts(error)))
    : new RateLimitUnavailable(uncountedParts(errorParts(error)))

/** `Unauthorized` as a 401 with its JSON body and `WWW-Authenticate`; the `Authentication` middleware declares it. */
export const UnauthorizedResponse = Unauthorized.pipe(
  HttpApiSchema.encodeToWithHeaders({ body: UnauthorizedBody.pipe(HttpApiSchema.status(401)), headers: UnauthorizedHeaders.fields }, {
    encode: ({ body, headers }) => ({ body, headers }),
    decode: (parts) => new Unauthorized(parts)
  })
)

/**
 * `Forbidden` as a 403 with its JSON body and, for a token, `WWW-Authenticate`. Declare it
 * on an endpoint whose handler calls `requireScope` (`error: ForbiddenResponse`); the bare
 * `Forbidden` class is not a response schema.
 */
export const ForbiddenResponse = Forbidden.pipe(
  HttpApiSchema.encodeToWithHeaders({ body: ForbiddenBody.pipe(HttpApiSchema.status(403)), headers: ForbiddenHeaders.fields }, {
    encode: ({ body, headers }) => ({ body, headers }),
    decode: (parts) => new Forbidden(parts)
  })
)

/** `TooManyRequests` as a 429 with `Retry-After` and the RateLimit headers; the `Authentication` middleware declares it. */
export const TooManyRequestsResponse = TooManyRequests.pipe(
  HttpApiSchema.encodeToWithHeaders({ body: RateLimitedBody.pipe(HttpApiSchema.status(429)), headers: RateLimitedHeaders.fields }, {
    encode: ({ body, headers }) => ({ body, headers }),
    decode: (parts) => new TooManyRequests(parts)
  })
)

/** `RateLimitUnavailable` as a 503 with `Retry-After`; the `Authentication` middleware declares it. */
export const RateLimitUnavailableResponse = RateLimitUnavailable.pipe(
  HttpApiSchema.encodeToWithHeaders({ body: UncountedBody.pipe(HttpApiSchema.status(503)), headers: UncountedHeaders.fields }, {
    encode: ({ body, headers }) => ({ body, headers }),
    decode: (parts) => new RateLimitUnavailable(parts)
  })
)
