/**
 * What fusion-auth's guards on Better Auth's endpoints (`LockOutGuard.ts`, `LockedOutCookies.ts`,
 * `EmailChangeGuard.ts`) read of an endpoint's context, and the one read they share: whether a
 * user, or the admin impersonating them, is locked out now, by primary key through Better
 * Auth's own adapter, so its table and field names are followed.
 */
import { getCurrentAuthContextAsyncLocalStorage } from "@better-auth/core/context"
import { APIError, getOAuthState } from "better-auth/api"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { lockOut, lockOutFields, type LockOutProbe, type LockOutReason, PROBE } from "../core/LockOut.ts"
import { PLUGIN_ID } from "../core/Session.ts"
import * as SignedCookie from "../core/SignedCookie.ts"

/** What the guard reads of Better Auth's endpoint context. */
export interface LockOutContext {
  readonly path?: string
  readonly headers?: Headers
  readonly request?: Request
  readonly [PROBE]?: LockOutProbe
  getSignedCookie(name: string, secret: string): Promise<string | null | false>
  json(value: unknown): unknown
  getCookie(name: string): string | null
  readonly context: {
    readonly secret: string
    readonly authCookies: { readonly sessionToken: { readonly name: string }; readonly sessionData: { readonly name: string } }
    readonly options: {
      readonly plugins?: ReadonlyArray<{ readonly id: string; readonly options?: { readonly requireSignature?: boolean } }> | undefined
      readonly session?: { readonly cookieCache?: { readonly enabled?: boolean } }
      readonly secondaryStorage?: unknown
    }
    session?: { readonly user?: { readonly id?: unknown }; readonly session?: { readonly impersonatedBy?: unknown } } | null
    readonly responseHeaders?: Headers
    readonly returned?: unknown
    /** The session an endpoint has just set as the browser's cookie (`setSessionCookie`). */
    readonly newSession?: { readonly user?: { readonly id?: unknown }; readonly session?: { readonly impersonatedBy?: unknown } } | null
    setNewSession?(session: null): void
    readonly adapter: {
      findOne<T>(query: { readonly model: string; readonly where: Array<{ readonly field: string; readonly value: string }> }): Promise<T | null>
    }
    readonly internalAdapter: {
      findSession(token: string): Promise<
        {
          readonly session: { readonly userId: string; readonly impersonatedBy?: unknown; readonly expiresAt: Date | string }
          readonly user: Record<string, unknown>
        } | null
      >
      findUserById(id: string): Promise<Record<string, unknown> | null>
      findUserByEmail(email: string): Promise<{ readonly user: { readonly id: string } } | null>
    }
  }
}

/** The user's lock-out now, read by primary key through Better Auth's adapter; `null` when there is no such user. */
export const readLockOut = async (ctx: LockOutContext, userId: string): Promise<{ fields: ReturnType<typeof lockOutFields> } | null> => {
  const user = await ctx.context.internalAdapter.findUserById(userId)
  return user === null ? null : { fields: lockOutFields(user) }
}

/**
 * Why the session's user, or the admin impersonating them, is locked out now; `undefined` when
 * neither is. `user` is the session's user when the caller has just read it with the session.
 */
export const lockedOutBehind = async (
  ctx: LockOutContext,
  session: { readonly userId: string; readonly impersonatedBy?: unknown },
  user?: Record<string, unknown>
): Promise<{ readonly userId: string; readonly reason: LockOutReason } | undefined> => {
  const people = typeof session.impersonatedBy === "string" ? [session.userId, session.impersonatedBy] : [session.userId]
  for (const userId of people) {
    const read = userId === session.userId && user !== undefined ? { fields: lockOutFields(user) } : await readLockOut(ctx, userId)
    const reason = read === null ? undefined : lockOut(read.fields, Date.now())
    if (reason !== undefined) return { userId, reason }
  }
  return undefined
}

/**
 * The session tokens a request carries, as Better Auth would read them: the signed cookie, and
 * with the `bearer()` plugin the `Authorization` value, whose token counts for a refusal
 * whether or not its signature holds (a value that names no session refuses nothing), and is
 * `signed` where the plugin would take it.
 */
export const sessionCredentials = async (ctx: LockOutContext): Promise<ReadonlyArray<{ readonly token: string; readonly signed: boolean }>> => {
  const tokens: Array<{ readonly token: string; readonly signed: boolean }> = []
  const cookie = await ctx.getSignedCookie(ctx.context.authCookies.sessionToken.name, ctx.context.secret)
  if (typeof cookie === "string" && cookie !== "") tokens.push({ token: cookie, signed: true })
  const bearer = pluginOf(ctx.context.options, "bearer")
  if (bearer !== undefined) {
    const header = ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization") ?? ""
    if (header.slice(0, 7).toLowerCase() === "bearer ") {
      let value = header.slice(7).trim()
      try {
        value = decodeURIComponent(value)
      } catch {
        // kept as sent, as the bearer plugin does
      }
      // An unsigned value counts only where the bearer plugin itself would accept one.
      const requireSignature = bearer.options?.requireSignature === true
      const [token, signature] = value.split(".")
      if (token && (signature !== undefined || !requireSignature)) {
        tokens.push({ token, signed: SignedCookie.bearerSessionToken(value, ctx.context.secret, requireSignature) === token })
      }
    }
  }
  return tokens
}

/**
 * The session a token names and why it is locked out now (`locked`, `undefined` when it is not);
 * `null` for an ended session. The user Better Auth reads with the session is used as read,
 * unless sessions live in `secondaryStorage`, whose copy of the user is the one cached when the
 * session began: then it is read again by primary key.
 */
export const sessionLockOut = async (ctx: LockOutContext, token: string) => {
  const found = await ctx.context.internalAdapter.findSession(token)
  if (found === null) return null
  const user = ctx.context.options.secondaryStorage == null ? found.user : undefined
  return { session: found.session, locked: await lockedOutBehind(ctx, found.session, user) }
}

/** The code and message of a lock-out's refusal on Better Auth's endpoints. */
export const lockOutCode = (reason: LockOutReason) => (reason === "banned" ? ERROR_CODES.USER_BANNED : ERROR_CODES.USER_DEACTIVATED)

/** The refusal to open a session for a locked-out user (sign-in, sign-up): 403, as Better Auth refuses a banned sign-in. */
export const lockedOutError = (reason: LockOutReason): APIError => APIError.from("FORBIDDEN", lockOutCode(reason))

/** Better Auth's options as far as a plugin's are read from them. */
export interface WithPlugins {
  readonly plugins?: ReadonlyArray<{ readonly id: string; readonly options?: unknown }> | undefined
}

/** Whether an expiry Better Auth wrote (a session's, a verification value's) is still ahead. */
export const unexpired = (expiresAt: Date | string): boolean => new Date(expiresAt).getTime() > Date.now()

/** The plugin of Better Auth's `options` whose id is `id`, as Better Auth finds it (`getPlugin`). */
export const pluginOf = <P extends { readonly id: string }>(options: { readonly plugins?: ReadonlyArray<P> | undefined }, id: string): P | undefined =>
  options.plugins?.find((plugin) => plugin.id === id)

/** Only where fusion-auth is: a plugin object or an option shared with another Better Auth instance acts there too. */
export const isFusionAuthHere = (ctx: LockOutContext) => pluginOf(ctx.context.options, PLUGIN_ID) !== undefined

/** The same for an option called without the endpoint's context: the request Better Auth is serving, read from its own async context (none: yes). */
export const fusionAuthHere = async () => {
  const endpoint = (await getCurrentAuthContextAsyncLocalStorage()).getStore()
  return endpoint === undefined || isFusionAuthHere(endpoint as unknown as LockOutContext)
}

/**
 * The OAuth flow's state this request carries (at a callback, or where a flow begins), as far as
 * fusion-auth reads it: the user a link names, the error URL the flow began with, and the
 * server context other plugins and `/link-social` record (`null` outside a flow).
 */
export const oauthState = async () =>
  await getOAuthState().catch(() => null) as { link?: { userId?: unknown }; errorURL?: unknown; serverContext?: Record<string, unknown> } | null

/** The key under which `/link-social` records, in the OAuth flow's state, the admin impersonating the user who links. */
export const LINK_IMPERSONATOR = "fusion-auth:impersonatedBy"
