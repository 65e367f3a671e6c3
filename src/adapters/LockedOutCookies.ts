/**
 * Where a request need not act for a session, Better Auth (and its plugins) still read the
 * browser's: sign-in and sign-up (the anonymous plugin hands an anonymous user's data to the
 * new account, then deletes that user), OAuth callbacks, mailed links, and multi-session's list
 * of a device's accounts. There a locked-out user's session cookie
 * is not refused, so the browser can still sign in as someone else: it is taken off the request
 * before any hook or the endpoint reads it, with the cookie cache of the session it names, and
 * the cache of an ended session (a ban deletes them) alike. Another plugin's hook that puts a
 * cookie back (`bearer()` copies the request's headers) has it taken off again (`LockOutGuard`'s
 * wrapper), so the order of plugins does not matter.
 */
import * as SignedCookie from "../core/SignedCookie.ts"
import { lockedOutBehind, type LockOutContext } from "./LockOutReads.ts"

/** The endpoints where a locked-out user's session cookie is taken off rather than refused. */
export const OPENING =
  /^\/(?:sign-in|sign-up|callback|oauth2\/callback|magic-link\/verify|verify-email|email-otp\/verify-email|reset-password|request-password-reset|multi-session\/list-device-sessions)(?:\/|$)/

const nameOf = (pair: string) => {
  const eq = pair.indexOf("=")
  return eq < 0 ? "" : pair.slice(0, eq).trim()
}

/**
 * `header` (a request's `Cookie`) without the signed cookies that name a locked-out user's
 * session, nor the cookie cache (`session_data`, chunked or not) when the session cookie names
 * such a session or an ended one; `undefined` when nothing is taken off. Reads one session per
 * signed cookie, and its user by primary key.
 */
export const withoutLockedOut = async (ctx: LockOutContext, header: string): Promise<string | undefined> => {
  const { sessionToken, sessionData } = ctx.context.authCookies
  const pairs = header.split(";").map((pair) => ({ pair: pair.trim(), name: nameOf(pair) }))
  const dropped = new Set<string>()
  let cache = false
  for (const name of new Set(pairs.map((pair) => pair.name))) {
    const token = name === "" ? undefined : SignedCookie.read(header, name, ctx.context.secret)
    if (token === undefined || token === "") continue
    const found = await ctx.context.internalAdapter.findSession(token)
    const refused = found === null ? name === sessionToken.name : (await lockedOutBehind(ctx, found.session)) !== undefined
    if (!refused) continue
    dropped.add(name)
    if (name === sessionToken.name) cache = true
  }
  const isCache = (name: string) => name === sessionData.name || name.startsWith(`${sessionData.name}.`)
  const kept = pairs.filter((pair) => pair.pair !== "" && !dropped.has(pair.name) && !(cache && isCache(pair.name)))
  return kept.length === pairs.filter((pair) => pair.pair !== "").length ? undefined : kept.map((pair) => pair.pair).join("; ")
}

/** `headers` with its `Cookie` taken through `withoutLockedOut`, changed in place; whether it changed. */
export const dropLockedOut = async (ctx: LockOutContext, headers: Headers | undefined): Promise<boolean> => {
  const header = headers?.get("cookie")
  if (header == null || header === "") return false
  const kept = await withoutLockedOut(ctx, header)
  if (kept === undefined) return false
  headers!.set("cookie", kept)
  return true
}
