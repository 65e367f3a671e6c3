/**
 * The choke point: headers in, `Session` out, or exactly one of three errors.
 *
 * A Bearer credential decides alone (malformed → `InvalidToken` with no I/O; otherwise one
 * statement). With Better Auth's `bearer()` plugin, a Bearer value that is not an API token
 * is read as that plugin reads it and resolved as that session's cookie; as a Bearer
 * credential, its refusals are the token path's (`InvalidToken`, `Deactivated` by "token"),
 * never a fall-back to the cookie. Without one, Better Auth's signed cookie decides (`CookieSource`: verified
 * in-process, then one statement; or Better Auth itself for what it hands over). The lock-out
 * (`core/LockOut.ts`: deactivated, or banned) is applied here for both credentials: from the
 * user row our own statement just read, and otherwise read by primary key, never from a
 * handed-over answer (a `customSession` or a hook may have narrowed it).
 */
import { Clock, Context, Effect, Exit, Layer, Option } from "effect"
import type * as ApiToken from "../core/ApiToken.ts"
import { type Presented, presented } from "../core/Authorization.ts"
import { type CookieSession, CookieSource } from "./CookieSource.ts"
import { Anonymous, type AuthError, Deactivated, InvalidToken, isAuthError } from "../core/Errors.ts"
import { lockOut } from "../core/LockOut.ts"
import * as Metrics from "../core/Metrics.ts"
import type { Session } from "../core/Session.ts"
import { CurrentTokenPolicy, effectiveScopes } from "../core/TokenPolicy.ts"
import { TokenStore } from "./TokenStore.ts"
import { Users } from "./Users.ts"

/**
 * A malformed credential's answer, made once: already an `Exit`, so refusing it allocates
 * nothing and a runtime can settle it without starting a fiber (`createAuthSession` does).
 */
const MALFORMED = Exit.fail(new InvalidToken({ reason: "malformed" }))

/** A cookie session's row with the `impersonatedBy` the row held, where it was read apart from a narrowed answer. */
const withImpersonator = ({ session, impersonatedBy }: CookieSession): CookieSession["session"] =>
  typeof impersonatedBy === "string" && session.impersonatedBy !== impersonatedBy ? { ...session, impersonatedBy } : session

/** The credential kind the metrics and the span name: a malformed Bearer value was meant as a token. */
const kindOf = (credential: Presented): Metrics.CredentialKind =>
  credential._tag === "Cookie" ? "cookie" : credential._tag === "SessionBearer" ? "session-bearer" : "token"

export class SessionResolver extends Context.Service<SessionResolver, {
  resolve(headers: Headers): Effect.Effect<Session, AuthError>
}>()("fusion-auth/SessionResolver") {
  static readonly layer: Layer.Layer<SessionResolver, never, TokenStore | Users | CookieSource | CurrentTokenPolicy> = Layer.effect(
    SessionResolver,
    Effect.gen(function*() {
      const tokens = yield* TokenStore
      const users = yield* Users
      const cookies = yield* CookieSource
      const policy = yield* CurrentTokenPolicy

      // Untraced on purpose: a span and a captured stack per request cost more than the token path's own work
      // (the one span there is, `fusion-auth.resolve`, is an option, off by default: core/Metrics.ts).
      /** A Better Auth session, presented as a cookie or, through `bearer()`, as a Bearer value. */
      const fromSession = Effect.fnUntraced(function*(
        found: Option.Option<CookieSession>,
        credential: "cookie" | "token",
        absent: Anonymous | InvalidToken
      ) {
        if (Option.isNone(found)) return yield* absent
        const { user, lock } = found.value
        const status = lock === undefined
          ? yield* users.status(user.id)
          : lockOut(lock, yield* Clock.currentTimeMillis) ?? "active"
        if (status === "missing") return yield* absent
        if (status !== "active") return yield* new Deactivated({ userId: user.id, credential, reason: status })
        // Under impersonation, as the session row says (a narrowed answer may have dropped it): the
        // session says so to the token rules, and the admin acting is held to the same rule (one
        // read more, for these sessions only).
        const session = withImpersonator(found.value)
        const admin = session.impersonatedBy
        if (typeof admin === "string") {
          const acting = yield* users.status(admin)
          if (acting === "missing") return yield* absent
          if (acting !== "active") return yield* new Deactivated({ userId: admin, credential, reason: acting })
        }
        const active = session.activeOrganizationId // the organization plugin's field, where the app has it
        return active === undefined
          ? { user, session, scopes: effectiveScopes(policy, user) } satisfies Session
          : { user, session, scopes: effectiveScopes(policy, user), activeOrganizationId: typeof active === "string" ? active : null } satisfies Session
      })
      const ANONYMOUS = new Anonymous()
      const UNKNOWN = new InvalidToken({ reason: "unknown" })
      const fromCookie = (headers: Headers) => Effect.flatMap(cookies.get(headers), (found) => fromSession(found, "cookie", ANONYMOUS))
      const bearer = cookies.bearer
      const fromBearerSession = bearer && ((headers: Headers, value: string) =>
        Effect.flatMap(bearer(headers, value), (found) => fromSession(found, "token", UNKNOWN)))

      const fromToken = Effect.fnUntraced(function*(token: ApiToken.ApiToken) {
        const { tokenId, user, scopes, rateLimit, lineageId, organization, lockedOut } = yield* tokens.verify(token)
        if (lockedOut !== undefined) return yield* new Deactivated({ userId: user.id, credential: "token", reason: lockedOut })
        return {
          user,
          session: null,
          scopes,
          tokenId,
          lineageId,
          ...(rateLimit === null ? {} : { rateLimit }),
          ...(organization === undefined ? {} : { activeOrganizationId: organization.id, memberRole: organization.role })
        } satisfies Session
      })

      const answer = (credential: Presented, headers: Headers): Effect.Effect<Session, AuthError> => {
        switch (credential._tag) {
          case "Malformed":
            return MALFORMED
          case "Bearer":
            return fromToken(credential.token)
          case "SessionBearer":
            return fromBearerSession === undefined ? MALFORMED : fromBearerSession(headers, credential.value)
          case "Cookie":
            return fromCookie(headers)
        }
      }
      // Metrics (on by default) and the span (off): with both off, `resolve` is the bare path.
      const observe = yield* Metrics.resolutionObserver
      return SessionResolver.of({
        resolve: observe === undefined
          ? (headers) => answer(presented(headers, policy.format), headers)
          : (headers) => {
            const credential = presented(headers, policy.format)
            return observe(kindOf(credential), answer(credential, headers))
          }
      })
    })
  )

  /** Every request resolves to this session, or fails with this error: for app tests. */
  static readonly layerTest = (result: Session | AuthError): Layer.Layer<SessionResolver> =>
    Layer.succeed(
      SessionResolver,
      SessionResolver.of({
        resolve: () => (isAuthError(result) ? Effect.fail(result) : Effect.succeed(result))
      })
    )
}
