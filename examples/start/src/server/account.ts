/**
 * Signing up, in and out, and the two pages that show who is signed in. Sign-up and sign-in
 * call Better Auth's own API; `tanstackStartCookies()` puts its cookie on the response.
 */
import { APIError } from "better-auth/api"
import { type RequestLike } from "fusion-auth"
import { safeRedirectPath } from "fusion-auth/effect"
import { auth, getSession, requireSession } from "#/lib/auth"
import { describeCaller } from "#/lib/caller"
import { currentRequest } from "#/lib/request"

export interface Credentials {
  readonly name?: string | undefined
  readonly email: string
  readonly password: string
  /** Where to go afterwards; anything that could leave this origin becomes `/`. */
  readonly redirect?: string | undefined
}

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

/** `/dashboard`: `getSession()` answers anonymous callers with `null`, so the page shows both. */
export const loadDashboard = async (request?: RequestLike) => {
  const session = await getSession(request)
  if (!session) return { signedIn: false as const }
  return { signedIn: true as const, email: session.user.email, name: session.user.name, role: session.user.role, caller: describeCaller(session) }
}

/** `/settings`: `requireSession()` sends anonymous and deactivated callers to `/login`. */
export const loadSettings = async (request?: RequestLike) => {
  const { user, session } = await requireSession(request)
  return {
    name: user.name,
    email: user.email,
    role: user.role,
    memberSince: user.createdAt,
    // Never the session row itself: it carries Better Auth's session token.
    sessionExpires: session?.expiresAt ?? null
  }
}
