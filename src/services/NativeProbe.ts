/**
 * What the native cookie path relies on, checked against Better Auth itself once at start-up,
 * whatever its version says: a throwaway Better Auth on the memory adapter, with the app's
 * secret, session ages and cookie settings, is asked `getSession` on sessions of its own.
 *
 * - Signing, both ways: it accepts a cookie our `SignedCookie` signed, and the cookie it signs
 *   on a refresh reads back with our reader, under the cookie names the app's context gives.
 * - The refresh rule: it refreshes a session a minute past `expiresAt - expiresIn + updateAge`
 *   and not one a minute before, and never a don't-remember one, exactly as `refreshDue` says.
 * - The end of a session: it answers nothing for one a minute past `expiresAt`.
 *
 * Answers the first difference, in words, or `undefined`. Nothing of the app's is written or read:
 * the probe's users and sessions live in its own memory, and it runs outside any request of the
 * app's. (Better Auth keeps a request's endpoint context, request state and database adapter in
 * `AsyncLocalStorage`: probed inside one of the app's endpoints, the throwaway Better Auth would
 * write its sessions through the app's adapter and share that request's state.)
 */
import { betterAuth, type BetterAuthOptions } from "better-auth"
import { memoryAdapter } from "better-auth/adapters/memory"
import { getCurrentAuthContextAsyncLocalStorage, getCurrentDBAdapterAsyncLocalStorage, getRequestStateAsyncLocalStorage } from "@better-auth/core/context"
import { Redacted } from "effect"
import { type Plan, refreshDue } from "../core/NativeCookie.ts"
import * as SignedCookie from "../core/SignedCookie.ts"

const MINUTE = 60_000

/** The app's options the probe copies: what names, signs and ages a session cookie, nothing else. */
const cookieOptions = (options: Record<string, any>) => {
  const { database: _database, ...advanced } = (options.advanced ?? {}) as Record<string, unknown>
  return {
    ...(typeof options.baseURL === "string" ? { baseURL: options.baseURL } : {}),
    ...(typeof options.basePath === "string" ? { basePath: options.basePath } : {}),
    advanced
  }
}

/** The part of the throwaway Better Auth the probe uses. */
interface ProbeAuth {
  readonly $context: Promise<{
    readonly authCookies: { readonly sessionToken: { readonly name: string }; readonly dontRememberToken: { readonly name: string } }
    readonly internalAdapter: {
      createSession(userId: string): Promise<{ readonly token: string }>
      updateSession(token: string, session: { readonly expiresAt: Date }): Promise<unknown>
    }
  }>
  readonly api: {
    getSession(input: { readonly headers: Headers; readonly returnHeaders: true }): Promise<{
      readonly headers: Headers
      readonly response: { readonly session: { readonly token: string } } | null
    }>
  }
}

/** Makes the throwaway Better Auth: `betterAuth` itself (a test wraps it to make one behaviour differ). */
export type MakeAuth = (options: BetterAuthOptions) => ProbeAuth

const makeAuth: MakeAuth = (options) => betterAuth(options) as unknown as ProbeAuth

/** Runs `f` outside each of Better Auth's request contexts (its endpoint context, request state, and current adapter). */
const outsideRequests = async <A>(f: () => Promise<A>): Promise<A> => {
  const stores = await Promise.all([getCurrentAuthContextAsyncLocalStorage(), getRequestStateAsyncLocalStorage(), getCurrentDBAdapterAsyncLocalStorage()])
  return stores.reduce<() => Promise<A>>((run, store) => () => store.exit(run), f)()
}

export const probe = (app: Plan, options: Record<string, any>, make: MakeAuth = makeAuth): Promise<string | undefined> =>
  outsideRequests(() => check(app, options, make))

const check = async (app: Plan, options: Record<string, any>, make: MakeAuth): Promise<string | undefined> => {
  // The app's ages, unless they leave no live session due for a refresh (updateAge within two
  // minutes of expiresIn, or past it): the rule is the same formula for any ages, so Better
  // Auth's defaults show it then.
  const plan = app.expiresInMs - app.updateAgeMs > 2 * MINUTE ? app : { ...app, expiresInMs: 7 * 86_400_000, updateAgeMs: 86_400_000 }
  const secret = Redacted.value(plan.secret)
  const now = new Date()
  const user = { id: "fusion-auth-probe", email: "probe@fusion-auth.invalid", name: "probe", emailVerified: false, createdAt: now, updatedAt: now }
  const auth = make({
    ...cookieOptions(options),
    secret,
    database: memoryAdapter({ user: [user], session: [], account: [], verification: [] }),
    session: { expiresIn: plan.expiresInMs / 1000, updateAge: plan.updateAgeMs / 1000 },
    telemetry: { enabled: false },
    logger: { disabled: true }
  })
  const ctx = await auth.$context
  if (ctx.authCookies.sessionToken.name !== plan.cookieName || ctx.authCookies.dontRememberToken.name !== plan.dontRememberName) {
    return `Better Auth names its cookies ${ctx.authCookies.sessionToken.name} and ${ctx.authCookies.dontRememberToken.name}, not ${plan.cookieName} and ${plan.dontRememberName}`
  }
  const ask = async (dueInMs: number, dontRemember = false) => {
    const session = await ctx.internalAdapter.createSession(user.id)
    const expiresAt = new Date(Date.now() + plan.expiresInMs - plan.updateAgeMs + dueInMs)
    await ctx.internalAdapter.updateSession(session.token, { expiresAt })
    const cookies = [`${plan.cookieName}=${SignedCookie.serialize(session.token, secret)}`]
    if (dontRemember) cookies.push(`${plan.dontRememberName}=${SignedCookie.serialize("true", secret)}`)
    const { headers, response } = await auth.api.getSession({ headers: new Headers({ cookie: cookies.join("; ") }), returnHeaders: true })
    const setCookie = headers.getSetCookie().map((c) => c.split(";")[0]!).join("; ")
    const refreshed = SignedCookie.read(setCookie, plan.cookieName, secret)
    const expected = refreshDue({ ...plan, refreshDisabled: false }, expiresAt, Date.now(), () => dontRemember)
    return { token: session.token, answered: response?.session.token, refreshed, signedBack: setCookie.includes(`${plan.cookieName}=`), expected }
  }
  const due = await ask(-MINUTE)
  if (due.answered !== due.token) return "Better Auth refused a session cookie signed as fusion-auth signs it"
  if (!due.signedBack || !due.expected) return "Better Auth's refresh rule differs: a session past updateAge was not refreshed as refreshDue says"
  if (due.refreshed !== due.token) return "the session cookie Better Auth signed does not verify with fusion-auth's reader"
  const fresh = await ask(MINUTE)
  if (fresh.answered !== fresh.token || fresh.signedBack || fresh.expected) {
    return "Better Auth's refresh rule differs: a session within updateAge was refreshed or refused"
  }
  const remembered = await ask(-MINUTE, true)
  if (remembered.answered !== remembered.token || remembered.signedBack || remembered.expected) {
    return "Better Auth's refresh rule differs: a don't-remember session was refreshed or refused"
  }
  const ended = await ask(-plan.expiresInMs + plan.updateAgeMs - MINUTE)
  if (ended.answered !== undefined) return "Better Auth answered a session past its expiresAt"
  return undefined
}
