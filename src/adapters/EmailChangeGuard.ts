/**
 * A change of address is one more door to a locked-out user's account: `/change-email` mails a
 * link, signed while the user could act, that `/verify-email` follows with no session at all,
 * to mail the new address its own link (`sendChangeEmailConfirmation`'s first step) or to write
 * it. As a before-hook of the fusion-auth plugin, either step is refused for a locked-out user
 * as their cookie is refused at every other endpoint: 401 `USER_DEACTIVATED` /
 * `USER_BANNED`, or, when the link carries a `callbackURL` Better Auth trusts, a redirect there
 * with `?error=<code>`, as Better Auth redirects its own refusals at this endpoint. The link is
 * read with Better Auth's own `verifyJWT`, so a forged or expired one is left for Better Auth to
 * refuse, and tells nobody whether its user is locked out. Once the lock-out ends, the same
 * link works. The link does not say who asked for it: one asked for by an admin impersonating
 * the user is the user's, and is not refused when only that admin is locked out.
 */
import { createAuthMiddleware } from "better-auth/api"
import { verifyJWT } from "better-auth/crypto"
import { Deactivated } from "../core/Errors.ts"
import { errorCode } from "../core/Http.ts"
import { withError } from "./BrowserRefusals.ts"
import { lockedOutBehind, type LockOutContext } from "./LockOutReads.ts"
import { toAPIError } from "./TokenEndpoints.ts"

interface VerifyEmailContext extends LockOutContext {
  readonly query?: { readonly token?: unknown; readonly callbackURL?: unknown } | undefined
  redirect(url: string): Error
  readonly context: LockOutContext["context"] & {
    isTrustedOrigin(url: string, settings?: { allowRelativePaths: boolean }): boolean
  }
}

export const emailChangeHook = {
  matcher: (ctx: { readonly path?: string }) => ctx.path === "/verify-email",
  handler: createAuthMiddleware(async (raw) => {
    const ctx = raw as unknown as VerifyEmailContext
    const token = ctx.query?.token
    if (typeof token !== "string") return
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
    // Better Auth checks the callbackURL's origin after the hooks: it is checked here before a redirect to it.
    const callbackURL = ctx.query?.callbackURL
    if (typeof callbackURL === "string" && callbackURL !== "" && ctx.context.isTrustedOrigin(callbackURL, { allowRelativePaths: true })) {
      throw ctx.redirect(withError(callbackURL, errorCode(refused)))
    }
    throw toAPIError(refused)
  })
}
