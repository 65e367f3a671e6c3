/**
 * Where a request need not act for a session, Better Auth (and its plugins) still read the
 * browser's: sign-in and sign-up (the anonymous plugin hands an anonymous user's data to the
 * new account, then deletes that user), OAuth and SSO callbacks (`@better-auth/sso`'s OIDC
 * callback and SAML assertion consumer), a passkey's and Google One Tap's sign-in, expo's
 * proxy that begins a native app's OAuth sign-in, the OAuth proxy's return to a preview
 * deployment, a popup's start of a sign-in, the OAuth provider's `/oauth2/authorize`
 * (which then sends the browser to sign in, or answers `login_required` to a `prompt=none`
 * client), mailed links, and multi-session's list
 * of a device's accounts and its revoke (which moves the device to the next of them). There a
 * locked-out user's session cookie is not refused, so the browser can still sign in as someone
 * else at these endpoints: it is taken off the request
 * before the endpoint reads it, with the cookie cache of the session it names, and the cache of
 * an ended session (a ban deletes them) alike.
 *
 * The request's headers are one object that every hook and the endpoint read, so the cookie is
 * taken off in place, by the first of fusion-auth's hook and another plugin's (`LockOutGuard`'s
 * wrapper) to run; a cookie another plugin's hook hands back to be merged (`bearer()` copies the
 * request's headers) is taken off there too. So the order of plugins does not matter, and what
 * an earlier hook set is kept. Each session a request's cookies name is read once.
 */
import * as SignedCookie from "../core/SignedCookie.ts"
import { lockedOutBehind, type LockOutContext, oauthState, sessionLockOut } from "./LockOutReads.ts"

/** The endpoints where a locked-out user's session cookie is taken off rather than refused. */
export const OPENING =
  /^\/(?:sign-in|sign-up|callback|oauth2\/(?:callback|authorize)|sso\/(?:callback|saml2\/sp\/acs)|one-tap\/callback|expo-authorization-proxy|oauth-proxy-callback|oauth-popup\/start|passkey\/(?:generate-authenticate-options|verify-authentication)|magic-link\/verify|verify-email|email-otp\/verify-email|reset-password|request-password-reset|multi-session\/(?:list-device-sessions|revoke))(?:\/|$)/

const nameOf = (pair: string) => {
  const eq = pair.indexOf("=")
  return eq < 0 ? "" : pair.slice(0, eq).trim()
}

type Verdict = "ended" | "locked" | "live"

/** Each request's verdicts, by session token: a token is read once however many headers or names carry it. */
const verdicts = new WeakMap<object, Map<string, Promise<Verdict>>>()

const verdict = (ctx: LockOutContext, token: string): Promise<Verdict> => {
  let known = verdicts.get(ctx.context)
  if (known === undefined) verdicts.set(ctx.context, (known = new Map()))
  let judged = known.get(token)
  if (judged === undefined) {
    judged = sessionLockOut(ctx, token).then((found) => (found === null ? "ended" : found.locked === undefined ? "live" : "locked"))
    known.set(token, judged)
  }
  return judged
}

/**
 * `headers` (a request's, or a hook's to be merged) with its `Cookie` changed in place: without
 * the session cookies (Better Auth's, and multi-session's) that name a locked-out user's
 * session, nor the cookie cache (`session_data`, chunked or not) when the session cookie names
 * such a session or an ended one.
 */
export const dropLockedOut = async (ctx: LockOutContext, headers: Headers | undefined): Promise<void> => {
  const header = headers?.get("cookie")
  if (header == null || header === "") return
  const { sessionToken, sessionData } = ctx.context.authCookies
  const pairs = header.split(";").map((pair) => ({ pair: pair.trim(), name: nameOf(pair) }))
  const dropped = new Set<string>()
  for (const name of new Set(pairs.map((pair) => pair.name))) {
    // Better Auth's session cookie (and names that start with it) and multi-session's (any name with `_multi-` is one of its own).
    if (!name.startsWith(sessionToken.name) && !name.includes("_multi-")) continue
    const token = SignedCookie.read(header, name, ctx.context.secret)
    if (token === undefined || token === "") continue
    const judged = await verdict(ctx, token)
    if (judged === "locked" || (judged === "ended" && name === sessionToken.name)) dropped.add(name)
  }
  if (dropped.size === 0) return
  const isCache = (name: string) => dropped.has(sessionToken.name) && (name === sessionData.name || name.startsWith(`${sessionData.name}.`))
  headers!.set("cookie", pairs.filter((pair) => pair.pair !== "" && !dropped.has(pair.name) && !isCache(pair.name)).map((pair) => pair.pair).join("; "))
}

/**
 * The anonymous plugin finds the anonymous user being upgraded at an OAuth callback through the
 * flow's state too (`serverContext.anonymousUserId`, recorded at `/sign-in/social`), cookie or
 * none. A locked-out one is forgotten there before another plugin's after-hook reads it
 * (`LockOutGuard`'s wrapper), so it is neither handed to the new account nor deleted. Read once
 * per flow's state.
 */
export const forgetLockedOutAnonymous = async (ctx: LockOutContext): Promise<void> => {
  const context = (await oauthState())?.serverContext
  if (typeof context?.anonymousUserId !== "string" || checked.has(context)) return
  checked.add(context)
  if ((await lockedOutBehind(ctx, { userId: context.anonymousUserId })) !== undefined) delete context.anonymousUserId
}
const checked = new WeakSet<object>()
