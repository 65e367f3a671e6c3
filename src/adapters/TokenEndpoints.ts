/**
 * The caller's own API tokens under Better Auth's base path: list, create, revoke, rotate
 * (`/fusion-auth/tokens/*`), as `createAuthEndpoint`s with validated bodies and `APIError`s
 * with stable codes (`core/ErrorCodes.ts`). The rules are the library's (`TokenStore`): a
 * caller mints within its own scopes, the live-token limit, the audit trail.
 *
 * Who calls is decided by fusion-auth's choke point, in `callerMiddleware`: a Better Auth
 * middleware (`createAuthMiddleware`) like Better Auth's own `sessionMiddleware`, which it
 * replaces here because that one reads only the cookie, and not deactivation: a token caller
 * (`Authorization: Bearer`) and a deactivated user are decided as on every other request.
 *
 * The endpoints reach the runtime through a `TokenLink` that `createAuthSession(auth)`
 * connects (and `dispose()` disconnects); with none connected they answer 500.
 */
import { APIError, createAuthEndpoint, createAuthMiddleware } from "better-auth/api"
import { Effect, Option, Redacted, Schema } from "effect"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { type FusionAuthError, isFusionAuthError, TokenSecretMismatch } from "../core/Errors.ts"
import { errorCode, errorParts } from "../core/Http.ts"
import type { Session } from "../core/Session.ts"
import { checkManage, confinedTo, credentialOf } from "../core/TokenRules.ts"
import type { TokenInfo } from "../core/TokenTypes.ts"
import { RateLimiter } from "../services/RateLimiter.ts"
import { SessionResolver } from "../services/SessionResolver.ts"
import { TokenStore } from "../services/TokenStore.ts"

/** What the endpoints run on: the runtime's `run` (typed failures reject as themselves). */
export interface TokenBackend {
  run<X, E>(effect: Effect.Effect<X, E, SessionResolver | TokenStore>): Promise<X>
}

/** The runtimes `createAuthSession(auth)` connected, in order; the latest one still open serves. */
export interface TokenLink {
  readonly backends: Array<TokenBackend>
}

const STATUS = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  503: "SERVICE_UNAVAILABLE"
} as const

/** A fusion-auth error as Better Auth's `APIError`: status and headers from `errorParts`, a stable code. */
export const toAPIError = (error: FusionAuthError): APIError => {
  const { status, body, headers } = errorParts(error)
  const code = errorCode(error)
  const { error: _, reason: __, ...extra } = body // `scope` of a 403, `field` and `problem` of a 400
  const message = error._tag === "InvalidTokenInput" || (error._tag === "InsufficientScope" && "scope" in extra)
    ? error.message
    : ERROR_CODES[code].message
  return new APIError(STATUS[status], { code, message, ...extra }, headers)
}

const call = async <X, E>(link: TokenLink, effect: Effect.Effect<X, E, SessionResolver | TokenStore>): Promise<X> => {
  const backend = link.backends.at(-1)
  if (backend === undefined) {
    throw new APIError("INTERNAL_SERVER_ERROR", { message: "fusion-auth: call createAuthSession(auth) before serving requests" })
  }
  try {
    // A secret that is not the app's is the server's to fix: the operator reads it in the log, the caller gets a bare 500.
    return await backend.run(effect.pipe(Effect.tapError((error) =>
      error instanceof TokenSecretMismatch ? Effect.logError(`fusion-auth: ${error.message}`) : Effect.void
    )))
  } catch (error) {
    throw isFusionAuthError(error) ? toAPIError(error) : error
  }
}

/**
 * The caller, from the cookie or a Bearer token, through fusion-auth's choke point; refused:
 * 401. A token caller also needs `tokens:manage` (`checkManage`): 403 without it.
 */
const callerMiddleware = (link: TokenLink) =>
  createAuthMiddleware(async (ctx) => {
    const headers = ctx.headers ?? new Headers()
    // Counted against a token's rate limit where the runtime has a limiter: minting is a use of the token.
    const admit = Effect.flatMap(Effect.serviceOption(RateLimiter), (limiter) =>
      Option.isSome(limiter) ? limiter.value.admit(headers) : SessionResolver.use((resolver) => resolver.resolve(headers)))
    const caller: Session = await call(link, admit.pipe(Effect.tap(checkManage)))
    return { caller }
  })

/** Validation messages name the field and the kind of problem, never the value sent (it may be a pasted secret). */
const body = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  Schema.toStandardSchemaV1(schema, {
    leafHook: (issue) => (issue._tag === "MissingKey" ? "is required" : issue._tag === "UnexpectedKey" ? "is not expected" : "has the wrong type"),
    checkHook: () => "is out of range"
  })

const SECONDS_MAX = 10 * 366 * 86_400
const Seconds = Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(SECONDS_MAX))
const TokenId = Schema.String.check(Schema.isMaxLength(100))
const OrganizationId = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200))

const ListQuery = Schema.Struct({
  /** Only the caller's tokens acting for this organization. */
  organizationId: Schema.optional(OrganizationId)
})

const CreateBody = Schema.Struct({
  name: Schema.String.check(Schema.isMaxLength(1000)),
  scopes: Schema.optional(Schema.Array(Schema.String.check(Schema.isMaxLength(100))).check(Schema.isMaxLength(100))),
  /** Lifetime in seconds; absent: the policy's maximum, or none. */
  expiresIn: Schema.optional(Seconds),
  /** Its own requests per window (the policy's `rateLimit`); absent: the policy's default. */
  rateLimit: Schema.optional(Schema.Int.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1_000_000_000))),
  /** The organization it acts for (Better Auth's organization plugin); the caller's role there must allow minting. */
  organizationId: Schema.optional(OrganizationId)
})

const RevokeBody = Schema.Struct({ tokenId: TokenId })

const RotateBody = Schema.Struct({
  tokenId: TokenId,
  /** Seconds the old secret keeps working (never past its own expiry); absent: none. */
  gracePeriod: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0), Schema.isLessThanOrEqualTo(SECONDS_MAX))),
  /** The new token's lifetime in seconds; absent: the old one's lifetime again, from now. */
  expiresIn: Schema.optional(Seconds)
})

const inSeconds = (seconds: number | undefined) => (seconds === undefined ? undefined : new Date(Date.now() + seconds * 1000))

/** What `create` and `rotate` answer: the plaintext, this once, beside what a list shows. */
export interface CreatedTokenView {
  readonly token: string
  readonly info: TokenInfo
}

const NO_STORE = "no-store"

/** The endpoints, keyed as `auth.api` names them. */
export const tokenEndpoints = (link: TokenLink) => {
  const use = [callerMiddleware(link)]
  return {
    listFusionAuthTokens: createAuthEndpoint("/fusion-auth/tokens/list", { method: "GET", query: body(Schema.UndefinedOr(ListQuery)), use }, async (ctx) => {
      const { caller } = ctx.context
      // The organization asked for; and an organization's token sees only that organization's tokens of its user.
      const asked = ctx.query?.organizationId
      const confined = confinedTo(caller)
      const mine = await call(link, TokenStore.use((store) => store.list(caller.user.id)))
      const tokens = mine.filter((t) => (asked === undefined || t.organizationId === asked) && (confined === undefined || t.organizationId === confined))
      ctx.setHeader("cache-control", NO_STORE)
      // The caller's tokens, oldest first, and the scopes it may put on a new one.
      return ctx.json({ tokens: tokens as ReadonlyArray<TokenInfo>, scopes: caller.scopes })
    }),

    createFusionAuthToken: createAuthEndpoint("/fusion-auth/tokens/create", { method: "POST", body: body(CreateBody), use }, async (ctx) => {
      const { caller } = ctx.context
      const { name, scopes, expiresIn, rateLimit, organizationId } = ctx.body
      const { token, info } = await call(link, TokenStore.use((store) =>
        store.create({ caller, name, scopes, expiresAt: inSeconds(expiresIn), rateLimit, organizationId })))
      ctx.setHeader("cache-control", NO_STORE)
      return ctx.json<CreatedTokenView>({ token: Redacted.value(token), info })
    }),

    revokeFusionAuthToken: createAuthEndpoint("/fusion-auth/tokens/revoke", { method: "POST", body: body(RevokeBody), use }, async (ctx) => {
      const { caller } = ctx.context
      const info = await call(link, TokenStore.use((store) =>
        store.revoke(caller.user.id, ctx.body.tokenId, caller.user.id, credentialOf(caller), confinedTo(caller))))
      return ctx.json<TokenInfo>(info)
    }),

    rotateFusionAuthToken: createAuthEndpoint("/fusion-auth/tokens/rotate", { method: "POST", body: body(RotateBody), use }, async (ctx) => {
      const { caller } = ctx.context
      const { tokenId, gracePeriod, expiresIn } = ctx.body
      const { token, info } = await call(link, TokenStore.use((store) =>
        store.rotate({ caller, tokenId, gracePeriod: (gracePeriod ?? 0) * 1000, expiresAt: inSeconds(expiresIn) })))
      ctx.setHeader("cache-control", NO_STORE)
      return ctx.json<CreatedTokenView>({ token: Redacted.value(token), info })
    })
  }
}
