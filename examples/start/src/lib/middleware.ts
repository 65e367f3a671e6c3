/**
 * fusion-auth's TanStack Start middleware for this app, typed with its own `user` (`role`).
 *
 * `requireSessionMiddleware` guards every server function behind the `_authed` layout (the
 * route guard is for the page; the server function checks again); `sessionMiddleware` is for
 * the navigation bar, signed in or not; `requireSessionRequestMiddleware` guards `/api/me`.
 *
 * `createServerOnlyFn` matters: a server function keeps its middleware in the browser's
 * bundle, and Start's compiler drops the body of a server-only function there, so auth.ts
 * (Better Auth, the database) never reaches the browser.
 */
import { createServerOnlyFn } from "@tanstack/react-start"
import { startMiddleware } from "fusion-auth/tanstack-start"
import { authSession } from "./auth.ts"

export const { sessionMiddleware, requireSessionMiddleware, requireSessionRequestMiddleware } =
  startMiddleware(createServerOnlyFn(() => authSession))
