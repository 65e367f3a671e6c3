/**
 * fusion-auth/tanstack-start: the session layer in TanStack Start's own shapes.
 *
 * `startMiddleware(getter)` makes the function middleware for server functions
 * (`sessionMiddleware`, `requireSessionMiddleware`) and the request middleware for server
 * routes (`sessionRequestMiddleware`, `requireSessionRequestMiddleware`), each putting the
 * app's typed `Session` on `context.session`. `currentRequest` is the request being served;
 * `startRefusal` shapes a thrown 401 so a page answers with it during SSR.
 *
 * @module fusion-auth/tanstack-start
 */
export { type SessionSource, startMiddleware } from "./adapters/StartMiddleware.ts"
export { currentRequest } from "./adapters/StartRequest.ts"
export { startRefusal } from "./adapters/StartRefusal.ts"
