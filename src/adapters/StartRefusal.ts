/**
 * A refusal a TanStack Start page can answer with: the thrown 401 becomes the page's own
 * HTTP response, with its status, `WWW-Authenticate` and body.
 *
 * What it is for: `requireSession()` (and any function middleware built on it) throws the
 * 401 `Response` of `unauthorized()`. Over a server function's RPC endpoint Start hands a
 * thrown Response back as is. But a page's loader runs the same server function in-process
 * during SSR, and there the router keeps a thrown plain Response as the route's error, then
 * cannot serialize it into the page (`SerovalUnsupportedTypeError`: a 500). The one thrown
 * Response the router sends back as the page's response, unchanged, is a redirect.
 *
 * The surprising part: outside an RPC the 401 is marked as a TanStack redirect (router-core's
 * `Redirect`: a Response with `options`) to the page itself, so the router also sets
 * `Location` to that path; no client follows `Location` on a 401. Inside an RPC
 * (`x-tsr-serverfn: true`) it stays plain: Start turns a thrown redirect there into a 200
 * JSON envelope, which would lose the 401.
 */
import { safeRedirectPath } from "../core/Http.ts"

/** The `options` that make TanStack Router's `isRedirect` true (as `redirect()` fills them). */
interface RedirectOptions {
  readonly href?: string
  readonly statusCode: number
}

/** True for a server-function RPC from Start's client, the header Start's handler checks. */
export const isServerFnRpc = (request: Request | Headers): boolean =>
  (request instanceof Headers ? request : request.headers).get("x-tsr-serverfn") === "true"

const ownPath = (url: string): string => {
  try {
    const parsed = new URL(url)
    return safeRedirectPath(parsed.pathname + parsed.search)
  } catch {
    return "/"
  }
}

/**
 * `response` as a page answers it: for an RPC the Response itself; otherwise the same
 * Response (status, headers, body) marked as a redirect to the request's own path. With only
 * Headers there is no path: the router resolves the redirect against the current location.
 */
export const startRefusal = (request: Request | Headers, response: Response): Response => {
  if (isServerFnRpc(request)) return response
  const options: RedirectOptions = request instanceof Headers
    ? { statusCode: response.status }
    : { href: ownPath(request.url), statusCode: response.status }
  return Object.assign(response, { options })
}
