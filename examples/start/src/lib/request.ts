import type { RequestLike } from "fusion-auth"

/** The request being served: the one given (tests, other servers), else TanStack Start's current one. */
export const currentRequest = async <R extends RequestLike = Request>(request?: R): Promise<R | Request> =>
  request ?? (await import("@tanstack/react-start/server")).getRequest()
