/**
 * The request being served: the one given, else TanStack Start's current one (`getRequest()`).
 *
 * What it is for: `getSession()`, `requireSession()` and the Start middleware read the request
 * without the app passing it; tests, scripts and other servers pass a `Request` or `Headers`.
 *
 * The surprising part: `@tanstack/react-start/server` is imported on first use, not at load
 * time, so the library still loads where Start is not installed; outside a Start request the
 * call throws, naming the fix.
 */
export const currentRequest = async <R extends Request | Headers = Request>(request?: R): Promise<R | Request> => {
  if (request !== undefined) return request
  try {
    const { getRequest } = await import("@tanstack/react-start/server")
    return getRequest()
  } catch (cause) {
    throw new Error(
      "fusion-auth: no current request. Outside a TanStack Start request, pass the Request or its Headers to getSession/requireSession",
      { cause }
    )
  }
}
