/**
 * Where a refused browser goes. `requireSession()` throws a redirect to `/login?redirect=<path>`
 * with the request's own path; when it runs in a server function called by the browser (client
 * navigation, a button), that path is the function's `/_serverFn/…` URL, not the page. So the
 * page re-aims the redirect at itself. (A full page load is served in one request and needs none.)
 */
import { isRedirect, redirect } from "@tanstack/react-router"

/** True for the redirect `requireSession()` throws at a browser that must sign in. */
export const isLoginRedirect = (error: unknown): boolean =>
  isRedirect(error) && (error.options.href?.startsWith("/login") ?? false)

/** For a loader: `loadFn().catch(loginThenBackTo(location.href))`. */
export const loginThenBackTo = (here: string) => (error: unknown): never => {
  if (isLoginRedirect(error)) throw redirect({ to: "/login", search: { redirect: here } })
  throw error
}
