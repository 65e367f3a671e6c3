/**
 * TanStack Start middleware that puts the caller's session on `context.session`, typed with
 * the app's own Better Auth `user` (its `additionalFields` included).
 *
 * What it is for: server functions take `.middleware([requireSessionMiddleware])` and read
 * `context.session`; server routes take `server: { middleware: [requireSessionRequestMiddleware] }`.
 * The required function middleware refuses exactly as `requireSession()` does (a redirect to
 * the login page for a browser, the 401 for a token, as a page's own response during SSR).
 *
 * The surprising part: it takes a getter, not the app's runtime, because a server function
 * keeps its middleware on the client. Passing `createServerOnlyFn(() => authSession)` lets
 * Start's compiler drop the app's auth module (Better Auth, the database) from the browser's
 * bundle. And the optional variants still refuse a Bearer token that fails: a program with a
 * bad token gets its 401, never the anonymous page.
 */
import { createMiddleware } from "@tanstack/react-start"
import type { AuthError, RateLimited } from "../core/Errors.ts"
import { errorResponse, presentedToken } from "../core/Http.ts"
import type { RequestLike } from "../runtime/createAuthSession.ts"
import { startRefusal } from "./StartRefusal.ts"

/** The part of `createAuthSession(auth)`'s result the middleware uses. */
export interface SessionSource<S> {
  readonly resolve: (
    request?: RequestLike
  ) => Promise<{ readonly request: RequestLike; readonly session: S } | { readonly request: RequestLike; readonly error: AuthError | RateLimited }>
  readonly requireSession: (request?: RequestLike) => Promise<S>
}

/** A refusal a program gets even where a browser would pass as anonymous: a bad token's 401, a rate limit's 429. */
const refusesProgram = (error: AuthError | RateLimited): boolean => error._tag === "RateLimited" || presentedToken(error)

/**
 * The four middleware over one app's sessions. `sessionMiddleware` and
 * `sessionRequestMiddleware` give `Session | null` (`null`: a browser with no live session);
 * `requireSessionMiddleware` and `requireSessionRequestMiddleware` give a `Session` or refuse.
 */
export const startMiddleware = <S>(source: () => SessionSource<S>) => ({
  /** Server functions: the session, or `null` for a browser without one. */
  sessionMiddleware: createMiddleware({ type: "function" }).server(async ({ next }) => {
    const result = await source().resolve()
    if ("error" in result && refusesProgram(result.error)) throw startRefusal(result.request, errorResponse(result.error))
    return next({ context: { session: "session" in result ? result.session : null } })
  }),

  /** Server functions: the session; otherwise what `requireSession()` throws. */
  requireSessionMiddleware: createMiddleware({ type: "function" }).server(async ({ next }) =>
    next({ context: { session: await source().requireSession() } })
  ),

  /** Server routes: the session, or `null` for a browser without one; a refused token gets `errorResponse`. */
  sessionRequestMiddleware: createMiddleware().server(async ({ request, next }) => {
    const result = await source().resolve(request)
    if ("error" in result && refusesProgram(result.error)) return errorResponse(result.error)
    return next({ context: { session: "session" in result ? result.session : null } })
  }),

  /** Server routes: the session; otherwise the 401 (or a rate limit's 429) of `errorResponse`, never a login page. */
  requireSessionRequestMiddleware: createMiddleware().server(async ({ request, next }) => {
    const result = await source().resolve(request)
    return "session" in result ? next({ context: { session: result.session } }) : errorResponse(result.error)
  })
})
