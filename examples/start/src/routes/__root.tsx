/// <reference types="vite/client" />
import { createRootRoute, HeadContent, Link, Outlet, Scripts, useRouter } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { sessionMiddleware } from "#/lib/middleware"
import { navFor, signOut } from "#/server/account"
import css from "#/styles.css?url"

/**
 * Who is signed in, for the navigation bar and the `_authed` guard: `null` for a browser
 * without a session. (A refused API token is not `null`: `sessionMiddleware` answers it 401.)
 */
const loadUser = createServerFn().middleware([sessionMiddleware]).handler(({ context }) => navFor(context.session))

const signOutFn = createServerFn({ method: "POST" }).handler(() => signOut())

export const Route = createRootRoute({
  head: () => ({
    meta: [
      { charSet: "utf-8" },
      { name: "viewport", content: "width=device-width, initial-scale=1" },
      { title: "fusion-auth · TanStack Start example" }
    ],
    links: [{ rel: "stylesheet", href: css }, { rel: "icon", href: "data:," }]
  }),
  beforeLoad: async () => ({ user: await loadUser() }),
  component: Root
})

function Root() {
  return (
    <html lang="en">
      <head>
        <HeadContent />
      </head>
      <body>
        <Nav />
        <main>
          <Outlet />
        </main>
        <Scripts />
      </body>
    </html>
  )
}

function Nav() {
  const { user } = Route.useRouteContext()
  const router = useRouter()
  const out = async () => {
    await signOutFn()
    await router.navigate({ to: "/login" })
  }
  return (
    <header className="nav">
      <Link to="/dashboard" className="brand">fusion-auth</Link>
      <Link to="/dashboard">Dashboard</Link>
      <Link to="/settings" activeOptions={{ exact: true }}>Settings</Link>
      <Link to="/settings/tokens">API tokens</Link>
      {user?.admin && <Link to="/admin">Admin</Link>}
      <span className="spacer" />
      {user
        ? (
          <>
            <span className="who">{user.email}</span>
            <button type="button" className="link" onClick={out}>Sign out</button>
          </>
        )
        : (
          <>
            <Link to="/login">Sign in</Link>
            <Link to="/signup">Sign up</Link>
          </>
        )}
    </header>
  )
}
