/**
 * Signing up, in and out, and the two pages that show who is signed in. Sign-up and sign-in
 * call Better Auth's own API; `tanstackStartCookies()` puts its cookie on the response.
 */
import { APIError } from "better-auth/api"
import { Schema } from "effect"
import { safeRedirectPath } from "fusion-auth/effect"
import { currentRequest } from "fusion-auth/tanstack-start"
import { type AppSession, auth } from "#/lib/auth"
import { isSiteAdmin, roleOf } from "#/lib/admin"
import { describeCaller } from "#/lib/caller"

/** The sign-up and sign-in form; `redirect` is where to go afterwards (anything off this origin becomes `/`). */
export const Credentials = Schema.Struct({
  name: Schema.optional(Schema.String),
  email: Schema.String,
  password: Schema.String,
  redirect: Schema.optional(Schema.String)
})
export type Credentials = typeof Credentials.Type

/** Where to go next, or why not: Better Auth's message ("Invalid email or password", …). */
export type Outcome = { readonly ok: true; readonly redirectTo: string } | { readonly ok: false; readonly message: string }

const outcome = async (redirect: string | undefined, call: () => Promise<unknown>): Promise<Outcome> => {
  try {
    await call()
    return { ok: true, redirectTo: safeRedirectPath(redirect ?? "/dashboard") }
  } catch (error) {
    if (error instanceof APIError) return { ok: false, message: error.message || "Could not sign in" }
    throw error
  }
}

export const signUp = (input: Credentials, request?: Request): Promise<Outcome> =>
  outcome(input.redirect, async () => {
    const name = input.name?.trim() || input.email.split("@")[0]!
    const { headers } = await currentRequest(request)
    return auth.api.signUpEmail({ body: { name, email: input.email, password: input.password }, headers })
  })

export const signIn = (input: Credentials, request?: Request): Promise<Outcome> =>
  outcome(input.redirect, async () => {
    const { headers } = await currentRequest(request)
    return auth.api.signInEmail({ body: { email: input.email, password: input.password }, headers })
  })

export const signOut = async (request?: Request): Promise<void> => {
  const { headers } = await currentRequest(request)
  await auth.api.signOut({ headers })
}

/** The navigation bar: who is signed in, or `null` for a browser without a session. */
export const navFor = (session: AppSession | null) =>
  session === null ? null : { email: session.user.email, admin: isSiteAdmin(session.user) }

/** `/dashboard`: who the choke point resolved, and by which credential. */
export const loadDashboard = (session: AppSession) => ({
  name: session.user.name,
  role: roleOf(session.user),
  admin: isSiteAdmin(session.user),
  caller: describeCaller(session)
})

/** `/settings`: the account, and when this browser session ends (`null` for a token). */
export const loadSettings = ({ user, session }: AppSession) => ({
  name: user.name,
  email: user.email,
  role: roleOf(user),
  memberSince: user.createdAt,
  // Never the session row itself: it carries Better Auth's session token.
  sessionExpires: session?.expiresAt ?? null
})
