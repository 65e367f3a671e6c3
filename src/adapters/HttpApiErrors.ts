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
import type { AuthError, InsufficientScope } from "../core/Errors.ts"
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

const unauthorizedParts = Schema.decodeUnknownSync(Schema.Struct({ body: UnauthorizedBody, headers: UnauthorizedHeaders }))
const forbiddenParts = Schema.decodeUnknownSync(Schema.Struct({ body: ForbiddenBody, headers: ForbiddenHeaders }))

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
