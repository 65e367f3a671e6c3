/// <reference types="vite/client" />
import { createRootRoute, HeadContent, Link, Outlet, Scripts, useRouter } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { loadDashboard, signOut } from "#/server/account"
import css from "#/styles.css?url"

/** Who the navigation bar shows: `getSession()`, so an anonymous visitor is simply `null`. */
const loadNav = createServerFn().handler(async () => {
  const me = await loadDashboard()
  return me.signedIn ? { email: me.email, admin: me.role === "admin" } : null
})

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
  beforeLoad: async () => ({ nav: await loadNav() }),
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
  const { nav } = Route.useRouteContext()
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
      {nav?.admin && <Link to="/admin">Admin</Link>}
      <span className="spacer" />
      {nav
        ? (
          <>
            <span className="who">{nav.email}</span>
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
