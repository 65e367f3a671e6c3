/**
 * The layout of every page that needs a signed-in user (/dashboard, /settings,
 * /settings/tokens, /admin). Its guard is for the page: a browser without a session goes to
 * the login page and comes back here. It is not the data's guard: each page's server
 * functions check again, with `requireSessionMiddleware`.
 */
import { createFileRoute, redirect } from "@tanstack/react-router"

export const Route = createFileRoute("/_authed")({
  beforeLoad: ({ context, location }) => {
    if (!context.user) throw redirect({ to: "/login", search: { redirect: location.href } })
  }
})
