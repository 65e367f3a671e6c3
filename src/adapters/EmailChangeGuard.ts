/**
 * A change of address is one more door to a locked-out user's account: `/change-email` mails a
 * link, signed while the user could act, whose `/verify-email` then writes the new address
 * with no session at all. As a `databaseHooks.user.update.before` of the fusion-auth plugin,
 * that write is refused for a locked-out user (or one whose impersonating admin is) as their
 * cookie is refused at every other endpoint: 401 `USER_DEACTIVATED` / `USER_BANNED`, or, when
 * the link carries a `callbackURL` (Better Auth has checked its origin by then), the redirect
 * Better Auth makes for its own refusals there, `?error=<code>`. The link is read with Better
 * Auth's own `verifyJWT`, so a forged or expired one is left for Better Auth to refuse, and
 * tells nobody whether its user is locked out. Once the lock-out ends, the same link works.
 */
import { verifyJWT } from "better-auth/crypto"
import { Deactivated } from "../core/Errors.ts"
import { errorCode } from "../core/Http.ts"
import { lockedOutBehind, type LockOutContext } from "./LockOutGuard.ts"
import { toAPIError } from "./TokenEndpoints.ts"

interface VerifyEmailContext extends LockOutContext {
  readonly query?: { readonly token?: unknown; readonly callbackURL?: unknown } | undefined
  redirect(url: string): Error
}

/** `url` with `error=<code>` added to its query, before any fragment. */
const withError = (url: string, code: string): string => {
  const hash = url.indexOf("#")
  const [head, fragment] = hash < 0 ? [url, ""] : [url.slice(0, hash), url.slice(hash)]
  return `${head}${head.includes("?") ? "&" : "?"}error=${encodeURIComponent(code)}${fragment}`
}

export const refuseLockedOutEmailChange = async (_data: Record<string, unknown>, raw: unknown): Promise<void> => {
  const ctx = raw as VerifyEmailContext | null | undefined
  const token = ctx?.query?.token
  if (ctx?.path !== "/verify-email" || typeof token !== "string") return
  const payload = await verifyJWT<{ readonly updateTo?: unknown; readonly userId?: unknown; readonly email?: unknown }>(token, ctx.context.secret)
  if (typeof payload?.updateTo !== "string") return
  // The link names its user (Better Auth 1.7.2x), or only the address it was sent for (earlier 1.7).
  const userId = typeof payload.userId === "string"
    ? payload.userId
    : typeof payload.email === "string"
    ? (await ctx.context.internalAdapter.findUserByEmail(payload.email))?.user.id
    : undefined
  const locked = userId === undefined ? undefined : await lockedOutBehind(ctx, { userId })
  if (locked === undefined) return
  const refused = new Deactivated({ ...locked, credential: "cookie" })
  const callbackURL = ctx.query?.callbackURL
  if (typeof callbackURL === "string" && callbackURL !== "") throw ctx.redirect(withError(callbackURL, errorCode(refused)))
  throw toAPIError(refused)
}
