/**
 * The lock-out on Better Auth's own endpoints, as hooks of the fusion-auth plugin: a locked-out
 * user's session (`core/LockOut.ts`) cannot act through any endpoint that acts for a session,
 * the admin plugin's included, and `/get-session` answers `null` for it.
 *
 * - Before every endpoint but those that end a session (`ENDING`), decide for themselves
 *   (`DECIDING`) or open one (`OPENING`, where `LockedOutCookies.ts` takes a locked-out user's
 *   cookie off the request instead): the session the request carries (its signed cookie, or
 *   with the `bearer()` plugin its `Authorization` value) is looked up with its user (and an
 *   impersonating admin read by primary key), and a locked-out user is refused as fusion-auth's
 *   choke point refuses them
 *   (`Deactivated`: 401, `USER_DEACTIVATED` or `USER_BANNED`). A request with no session
 *   credential costs nothing, but for a sign-in waiting at its second factor
 *   (`TwoFactorGuard.ts`). fusion-auth's own endpoints decide at its choke point.
 * - After `/get-session`: the user it answered for is read by primary key, whatever the answer
 *   looks like (a `customSession` may have narrowed it), and a locked-out user's answer becomes
 *   `null`, with no credential on the response. When the choke point handed the request over,
 *   the hook fills its probe instead, and the choke point decides.
 * - After any other endpoint that hands an existing session out, as the browser's cookie or as
 *   its answer (a one-time token's verification, multi-session's switch), or answers the user's
 *   record for a code sent to them (`CODE_PROOFS`): a locked-out user's is refused (403, as
 *   sign-in is), with no credential on the response.
 * - `keepLockedOutSession`: a refresh `/get-session` would write for a locked-out user keeps
 *   the session as it was.
 * - `guardOtherHooks`: a before-hook of another plugin, or the app's own, that opens a session
 *   itself (the api-key plugin's `enableSessionForAPIKeys`, whose key then acts as its user
 *   everywhere and answers `/get-session` from the hook) has it refused for a locked-out user: 401;
 *   at `OPENING` endpoints such a hook neither sees a locked-out user's cookie nor puts it back,
 *   and another plugin's after-hook does not find a locked-out anonymous user through an OAuth
 *   flow's state.
 *
 * Reads go through Better Auth's own adapter, so its table and field names are followed.
 */
import { addOAuthServerContext, createAuthMiddleware, isAPIError } from "better-auth/api"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { Anonymous, Deactivated } from "../core/Errors.ts"
import { lockOut, PROBE } from "../core/LockOut.ts"
import { dropLockedOut, forgetLockedOutAnonymous, OPENING } from "./LockedOutCookies.ts"
import {
  isFusionAuthHere,
  LINK_IMPERSONATOR,
  lockedOutBehind,
  lockedOutError,
  type LockOutContext,
  pluginOf,
  readLockOut,
  sessionCredentials,
  sessionLockOut,
  unexpired
} from "./LockOutReads.ts"
import { toAPIError } from "./TokenEndpoints.ts"
import { refusePendingChallenge } from "./TwoFactorGuard.ts"

/**
 * Endpoints that end a session rather than act for one: `/sign-out`, the OAuth provider's
 * `/oauth2/end-session` (a client sends the browser there), SAML's two logouts (the one the app
 * starts, and the one the identity provider sends the browser back with), and the admin
 * plugin's end of an impersonation (its hand-back of the admin's own session the after-hook
 * judges). Neither fusion-auth's door nor a session another plugin's hook opens there refuses.
 */
const ENDING = /^\/(?:sign-out|oauth2\/end-session|sso\/saml2\/(?:logout|sp\/slo)|admin\/stop-impersonating)(?:\/|$)/

/**
 * Endpoints that decide for themselves: `/get-session` (below), fusion-auth's own (at its choke
 * point), multi-session's switch to another of the device's accounts (it reads no session of
 * the request's, and the after-hook refuses a locked-out one). Those that open a session, or
 * list a device's, take a locked-out user's cookie off the request instead (`OPENING`).
 */
const DECIDING = /^\/(?:get-session|fusion-auth|multi-session\/set-active)(?:\/|$)/

/**
 * Endpoints that answer the user's record for a code sent to them (`disableSession`), whatever
 * session the browser holds (email-otp's reads one of its own): the record is judged, not the session.
 */
const CODE_PROOFS = /^\/(?:phone-number\/verify|email-otp\/verify-email|two-factor\/verify-(?:totp|otp|backup-code))$/

/** Response headers that would hand a locked-out user a credential: a JWT, a bearer token, a one-time token, cookies (but those cleared). */
const CREDENTIAL_HEADERS = ["set-auth-jwt", "set-auth-token", "set-ott", "set-cookie"]

/**
 * A locked-out user's session taken off the request: none for the endpoint or the hooks after
 * (jwt's signs `newSession`, one-time-token's mints from it), no credential from those before
 * (nor the account cookie Better Auth sets before the session a sign-in is refused), on the
 * response's headers and on `alsoFrom` (a refusal's own, where it carries them).
 */
export const withdrawCredentials = (ctx: LockOutContext, alsoFrom?: unknown) => {
  ctx.context.session = null
  ctx.context.setNewSession?.(null)
  for (const headers of [ctx.context.responseHeaders, alsoFrom]) {
    if (!(headers instanceof Headers)) continue
    // A cookie cleared hands nothing over (the OAuth flow's state, a stale session): kept.
    const clearing = headers.getSetCookie().filter((line) => /^[^=;]+=(?:""|);/.test(line) && /;\s*max-age=0(?:;|$)/i.test(line))
    for (const header of CREDENTIAL_HEADERS) headers.delete(header)
    for (const line of clearing) headers.append("set-cookie", line)
  }
}

/**
 * A `databaseHooks.session.update.before`: when `/get-session` refreshes the session of a
 * locked-out user (Better Auth does so before the answer reaches the hook that turns it into
 * `null`), the session keeps the expiry it had, so the refused request changes nothing.
 */
export const keepLockedOutSession = async (
  data: Record<string, unknown>,
  raw: unknown
): Promise<{ data: Record<string, unknown> } | undefined> => {
  const ctx = raw as LockOutContext | null | undefined
  const current = ctx?.context.session as { readonly user?: { readonly id?: unknown }; readonly session?: Record<string, unknown> } | null | undefined
  if (ctx?.path !== "/get-session" || !("expiresAt" in data) || typeof current?.user?.id !== "string" || current.session === undefined) return
  const locked = await lockedOutBehind(ctx, { userId: current.user.id, impersonatedBy: current.session.impersonatedBy })
  return locked === undefined ? undefined : { data: { expiresAt: current.session.expiresAt, updatedAt: current.session.updatedAt } }
}

/**
 * A locked-out user's refusal (fusion-auth's 403 or 401, the admin plugin's refused sign-in of
 * a banned user, or an OAuth flow's redirect to its error URL with either code, no session
 * opened: a callbackURL may say anything): what Better Auth set before it (the account cookie
 * of `account.storeAccountCookie`) is not handed out, on the response's headers nor on a
 * redirect's own (`ctx.redirect`'s, cookies included). True when the answer is such a refusal.
 */
const withdrawnFromRefusal = (ctx: LockOutContext): boolean => {
  const returned = ctx.context.returned
  if (!isAPIError(returned)) return false
  const location = ctx.context.newSession == null ? new Headers(returned.headers).get("location") : null
  const code = returned.body?.code ?? (location === null ? undefined : new URL(location, "http://localhost").searchParams.get("error"))
  if (typeof code !== "string") return false
  const admin = pluginOf(ctx.context.options, "admin") as { $ERROR_CODES?: Record<string, unknown> } | undefined
  const refused = code === ERROR_CODES.USER_DEACTIVATED.code || code === ERROR_CODES.USER_BANNED.code ||
    (admin?.$ERROR_CODES?.BANNED_USER !== undefined && code === String(admin.$ERROR_CODES.BANNED_USER))
  if (refused) withdrawCredentials(ctx, returned.headers)
  return refused
}

export const lockOutHooks = {
  before: [{
    matcher: (ctx: { readonly path?: string }) => typeof ctx.path === "string" && !OPENING.test(ctx.path) && !ENDING.test(ctx.path) && !DECIDING.test(ctx.path),
    handler: createAuthMiddleware(async (raw) => {
      const ctx = raw as unknown as LockOutContext
      /** The session the endpoint acts for: the bearer() plugin's, when it names one, overrides the cookie's. */
      let acting: { readonly impersonatedBy?: unknown } | undefined
      for (const { token, signed } of await sessionCredentials(ctx)) {
        const found = await sessionLockOut(ctx, token)
        if (found === null) {
          // An ended session (banned users' are deleted) must not act through its cookie cache either.
          if (ctx.context.options.session?.cookieCache?.enabled === true && ctx.getCookie(ctx.context.authCookies.sessionData.name)) {
            throw toAPIError(new Anonymous())
          }
          continue // otherwise the endpoint decides as it would
        }
        if (found.locked !== undefined) throw toAPIError(new Deactivated({ ...found.locked, credential: "cookie" }))
        // Only a session Better Auth would honour acts: one whose signature holds, not expired.
        if (signed && unexpired(found.session.expiresAt)) acting = found.session
      }
      // No session acts: a sign-in waiting at its second factor is judged by the user it is for.
      if (acting === undefined) await refusePendingChallenge(ctx)
      // A link begun under impersonation ends after the provider's redirect: the flow's state keeps who began it.
      if (ctx.path === "/link-social" && typeof acting?.impersonatedBy === "string") {
        await addOAuthServerContext({ [LINK_IMPERSONATOR]: acting.impersonatedBy })
      }
    })
  }, {
    matcher: (ctx: { readonly path?: string }) => typeof ctx.path === "string" && OPENING.test(ctx.path),
    // The request's own headers, changed in place (`LockedOutCookies.ts`): nothing handed back to be merged.
    handler: (async (input: LockOutContext) => void (await dropLockedOut(input, input.headers))) as unknown as ReturnType<typeof createAuthMiddleware>
  }],
  after: [{
    matcher: (ctx: { readonly path?: string }) => ctx.path === "/get-session",
    handler: createAuthMiddleware(async (raw) => {
      const ctx = raw as unknown as LockOutContext
      const returned = ctx.context.returned as { readonly user?: { readonly id?: unknown } } | null | undefined
      if (returned == null || typeof returned !== "object" || returned instanceof Error) return
      // The session Better Auth read (customSession's answer may have dropped the id), else the answer's.
      const userId = ctx.context.session?.user?.id ?? returned.user?.id
      if (typeof userId !== "string") return
      const read = await readLockOut(ctx, userId)
      // The session row Better Auth read (a customSession's answer may have dropped its impersonatedBy).
      const row = ctx.context.session?.session
      const impersonatedBy = typeof row?.impersonatedBy === "string" ? row.impersonatedBy : null
      const probe = ctx[PROBE]
      if (probe !== undefined) {
        probe.userId = userId
        if (read !== null) probe.fields = read.fields
        if (row != null) probe.impersonatedBy = impersonatedBy
        return
      }
      const locked = read === null || lockOut(read.fields, Date.now()) !== undefined ||
        (impersonatedBy !== null && (await lockedOutBehind(ctx, { userId: impersonatedBy })) !== undefined)
      if (!locked) return
      // Refused: no session for the hooks after this one (jwt's), and no credential from those before.
      withdrawCredentials(ctx)
      return ctx.json(null)
    })
  }, {
    // An endpoint that hands an existing session out (a one-time token's `/one-time-token/verify`,
    // multi-session's `/multi-session/set-active`), as the browser's cookie or as its answer, or
    // that answers the user's record for a code sent to them (a code's proof: email-otp's and
    // phone-number's verification, two-factor's with `disableSession`): refused, with no
    // credential, for a locked-out user, as sign-in is (a new session is refused before it exists).
    matcher: (ctx: { readonly path?: string }) => ctx.path !== "/get-session",
    handler: createAuthMiddleware(async (raw) => {
      const ctx = raw as unknown as LockOutContext
      if (withdrawnFromRefusal(ctx)) return
      const answer = ctx.context.returned as LockOutContext["context"]["newSession"] | undefined
      const handed = typeof ctx.context.newSession?.user?.id === "string"
        ? ctx.context.newSession
        : typeof answer !== "object" || answer === null || answer instanceof Error
        ? undefined
        : (typeof answer.session === "object" && answer.session !== null) || CODE_PROOFS.test(ctx.path ?? "")
        ? answer // Better Auth's session shape, `{ session, user }`, or a code's proof answering the user's record
        : undefined
      if (typeof handed?.user?.id !== "string") return
      const locked = await lockedOutBehind(ctx, { userId: handed.user.id, impersonatedBy: handed.session?.impersonatedBy })
      if (locked === undefined) return
      withdrawCredentials(ctx)
      throw lockedOutError(locked.reason)
    })
  }]
}

type BeforeHook = { readonly matcher: unknown; readonly handler: (input: any) => Promise<unknown> }
type Plugin = {
  readonly id?: string
  readonly hooks?: { before?: ReadonlyArray<BeforeHook> | undefined; after?: ReadonlyArray<BeforeHook> | undefined } | undefined
}

/** Handlers already guarded: a plugin object shared by two Better Auth instances is guarded once. */
const guarded = new WeakSet<object>()

/**
 * `handler`, then, when it opened a session for the request (`context.session` set by it, not
 * by an earlier hook), that session's user (and impersonating admin) read by primary key: a
 * locked-out user is refused as the guard above refuses a cookie (401), `/get-session` too, as
 * the api-key plugin itself refuses a key it will not take there (with an error, not `null`).
 * A hand-over from the choke point is left whole: the choke point reads the lock-out itself.
 */
const lockedOutAfter = (handler: BeforeHook["handler"]): BeforeHook["handler"] => {
  const guard = async (input: LockOutContext) => {
    const before = input.context.session
    // Where a locked-out user's cookie is taken off (`OPENING`), the hook neither sees it nor hands it back.
    const opening = typeof input.path === "string" && OPENING.test(input.path) && isFusionAuthHere(input)
    if (opening) await dropLockedOut(input, input.headers)
    const result = await handler(input)
    if (opening) await dropLockedOut(input, (result as { response?: { context?: { headers?: unknown } } } | undefined)?.response?.context?.headers as Headers | undefined)
    // Set on the request's context (api-key does), or in the context the hook returns to be merged.
    const returned = (result as { response?: { context?: { context?: LockOutContext["context"] } } } | undefined)?.response?.context?.context?.session
    const session = input.context.session !== before ? input.context.session : returned
    if (session == null || session === before || typeof session.user?.id !== "string") return result
    // Read to be ended (the SSO plugin's hook on `/sign-out` with SAML logout on), or handed to the choke point.
    if (ENDING.test(input.path ?? "") || (input.path === "/get-session" && input[PROBE] !== undefined)) return result
    if (!isFusionAuthHere(input)) return result
    const locked = await lockedOutBehind(input, { userId: session.user.id, impersonatedBy: session.session?.impersonatedBy })
    if (locked === undefined) return result
    withdrawCredentials(input)
    throw toAPIError(new Deactivated({ ...locked, credential: "cookie" }))
  }
  guarded.add(guard)
  return guard
}

/** Guards the app's own before-hook and those of every plugin but `self` (`lockedOutAfter`); run at Better Auth's `init`. */
export const guardOtherHooks = (
  options: { hooks?: { before?: BeforeHook["handler"] | undefined } | undefined; readonly plugins?: ReadonlyArray<Plugin> | undefined },
  self: object
): void => {
  const own = options.hooks?.before
  if (own !== undefined && !guarded.has(own)) options.hooks!.before = lockedOutAfter(own)
  for (const plugin of options.plugins ?? []) {
    if (plugin === self || plugin.hooks === undefined) continue
    // The hook lists are the plugin's own (`getHooks` reads them per request): their entries are replaced, not changed.
    const { before, after } = plugin.hooks
    if (before !== undefined) plugin.hooks.before = before.map((hook) => (guarded.has(hook.handler) ? hook : { ...hook, handler: lockedOutAfter(hook.handler) }))
    if (after !== undefined) plugin.hooks.after = after.map((hook) => (guarded.has(hook.handler) ? hook : { ...hook, handler: anonymousForgotten(hook.handler) }))
  }
}

/**
 * `handler` (another plugin's after-hook), run once a locked-out anonymous user is forgotten by
 * the OAuth flow's state, and once a locked-out user's refusal carries no credential: expo's
 * copies the response's `Set-Cookie` into a deep link's `?cookie=`, whatever order the plugins
 * are listed in.
 */
const anonymousForgotten = (handler: BeforeHook["handler"]): BeforeHook["handler"] => {
  const guard = async (input: LockOutContext) => {
    if (typeof input.path === "string" && OPENING.test(input.path) && isFusionAuthHere(input)) await forgetLockedOutAnonymous(input)
    if (isFusionAuthHere(input)) withdrawnFromRefusal(input)
    return handler(input)
  }
  guarded.add(guard)
  return guard
}
