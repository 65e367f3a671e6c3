import { createFileRoute, Link } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { loadDashboard } from "#/server/account"
import { Page } from "#/ui"

const loadDashboardFn = createServerFn().handler(() => loadDashboard())

export const Route = createFileRoute("/dashboard")({
  loader: () => loadDashboardFn(),
  component: Dashboard
})

function Dashboard() {
  const data = Route.useLoaderData()
  if (!data.signedIn) {
    return (
      <Page title="Dashboard">
        <div className="card">
          <p className="status anonymous">You are not signed in.</p>
          <p>
            This page uses <code>getSession()</code>, which answers <code>null</code> for an anonymous visitor, so it
            renders either way. <Link to="/login">Sign in</Link> or <Link to="/signup">create an account</Link>.
          </p>
        </div>
      </Page>
    )
  }
  return (
    <Page title="Dashboard">
      <div className="card">
        <p className="status signed-in">Signed in as <strong>{data.name}</strong> ({data.role})</p>
        <p>
          <code>getSession()</code> resolved you as <code>{data.caller}</code>.
        </p>
      </div>
      <div className="grid">
        <Link to="/settings" className="tile">
          <strong>Settings</strong>
          <span><code>requireSession()</code>: the login page for anyone else</span>
        </Link>
        <Link to="/settings/tokens" className="tile">
          <strong>API tokens</strong>
          <span>Create <code>sk_live_…</code> tokens and call <code>/api/me</code> and <code>/api/v1/me</code></span>
        </Link>
        {data.role === "admin" && (
          <Link to="/admin" className="tile">
            <strong>Admin</strong>
            <span>Deactivate a user: their cookies and tokens stop working at once</span>
          </Link>
        )}
      </div>
    </Page>
  )
}
