/**
 * The lock-out on Better Auth's own endpoints, as hooks of the fusion-auth plugin: a locked-out
 * user's session (`core/LockOut.ts`) cannot act through any endpoint that acts for a session,
 * the admin plugin's included, and `/get-session` answers `null` for it.
 *
 * - Before every endpoint but those that start or end a session (sign-in, sign-up, sign-out)
 *   and `/get-session`: the session the request carries (its signed cookie, or with the
 *   `bearer()` plugin its `Authorization` value) is looked up, its user read by primary key,
 *   and a locked-out user is refused as fusion-auth's choke point refuses them (`Deactivated`:
 *   401, `USER_DEACTIVATED` or `USER_BANNED`). A request with no session credential costs
 *   nothing. fusion-auth's own endpoints decide at its choke point.
 * - After `/get-session`: the user it answered for is read by primary key, whatever the answer
 *   looks like (a `customSession` may have narrowed it), and a locked-out user's answer becomes
 *   `null`. When the choke point handed the request over, the hook fills its probe instead.
 *
 * Reads go through Better Auth's own adapter, so its table and field names are followed.
 */
import { APIError, createAuthMiddleware } from "better-auth/api"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { Deactivated } from "../core/Errors.ts"
import { lockOut, lockOutFields, type LockOutProbe, type LockOutReason, PROBE } from "../core/LockOut.ts"
import { toAPIError } from "./TokenEndpoints.ts"

/** Endpoints that open or end a session rather than act for one, and those that decide for themselves. */
const UNGUARDED = /^\/(?:sign-in|sign-up|sign-out|get-session|fusion-auth)(?:\/|$)/

interface Context {
  readonly path?: string
  readonly headers?: Headers
  readonly request?: Request
  readonly [PROBE]?: LockOutProbe
  getSignedCookie(name: string, secret: string): Promise<string | null | false>
  json(value: unknown): unknown
  readonly context: {
    readonly secret: string
    readonly authCookies: { readonly sessionToken: { readonly name: string } }
    readonly options: { readonly plugins?: ReadonlyArray<{ readonly id: string; readonly options?: unknown }> | undefined }
    readonly session?: { readonly user?: { readonly id?: unknown } } | null
    readonly returned?: unknown
    readonly internalAdapter: {
      findSession(token: string): Promise<{ readonly session: { readonly userId: string } } | null>
      findUserById(id: string): Promise<Record<string, unknown> | null>
    }
  }
}

/** The user's lock-out now, read by primary key through Better Auth's adapter; `null` when there is no such user. */
const readLockOut = async (ctx: Context, userId: string): Promise<{ fields: ReturnType<typeof lockOutFields> } | null> => {
  const user = await ctx.context.internalAdapter.findUserById(userId)
  return user === null ? null : { fields: lockOutFields(user) }
}

/** The refusal to open a session for a locked-out user (sign-in, sign-up): 403, as Better Auth refuses a banned sign-in. */
export const lockedOutError = (reason: LockOutReason): APIError =>
  APIError.from("FORBIDDEN", reason === "banned" ? ERROR_CODES.USER_BANNED : ERROR_CODES.USER_DEACTIVATED)

/**
 * The session tokens a request carries, as Better Auth would read them: the signed cookie, and
 * with the `bearer()` plugin the `Authorization` value. The latter is not verified here: the
 * guard only ever refuses, and a value that names no session refuses nothing.
 */
const sessionTokens = async (ctx: Context): Promise<ReadonlyArray<string>> => {
  const tokens: Array<string> = []
  const cookie = await ctx.getSignedCookie(ctx.context.authCookies.sessionToken.name, ctx.context.secret)
  if (typeof cookie === "string" && cookie !== "") tokens.push(cookie)
  if (ctx.context.options.plugins?.some((plugin) => plugin.id === "bearer")) {
    const header = ctx.request?.headers.get("authorization") ?? ctx.headers?.get("authorization") ?? ""
    if (header.slice(0, 7).toLowerCase() === "bearer ") {
      let value = header.slice(7).trim()
      try {
        value = decodeURIComponent(value)
      } catch {
        // kept as sent, as the bearer plugin does
      }
      const token = value.split(".")[0]
      if (token) tokens.push(token)
    }
  }
  return tokens
}

export const lockOutHooks = {
  before: [{
    matcher: (ctx: { readonly path?: string }) => typeof ctx.path === "string" && !UNGUARDED.test(ctx.path),
    handler: createAuthMiddleware(async (raw) => {
      const ctx = raw as unknown as Context
      for (const token of await sessionTokens(ctx)) {
        const found = await ctx.context.internalAdapter.findSession(token)
        if (found === null) continue // no such session: the endpoint decides as it would
        const read = await readLockOut(ctx, found.session.userId)
        const reason = read === null ? undefined : lockOut(read.fields, Date.now())
        if (reason !== undefined) throw toAPIError(new Deactivated({ userId: found.session.userId, credential: "cookie", reason }))
      }
    })
  }],
  after: [{
    matcher: (ctx: { readonly path?: string }) => ctx.path === "/get-session",
    handler: createAuthMiddleware(async (raw) => {
      const ctx = raw as unknown as Context
      const returned = ctx.context.returned as { readonly user?: { readonly id?: unknown } } | null | undefined
      if (returned == null || typeof returned !== "object" || returned instanceof Error) return
      // The session Better Auth read (customSession's answer may have dropped the id), else the answer's.
      const userId = ctx.context.session?.user?.id ?? returned.user?.id
      if (typeof userId !== "string") return
      const read = await readLockOut(ctx, userId)
      const probe = ctx[PROBE]
      if (probe !== undefined) {
        probe.userId = userId
        if (read !== null) probe.fields = read.fields
        return
      }
      if (read === null || lockOut(read.fields, Date.now()) !== undefined) return ctx.json(null)
    })
  }]
}
