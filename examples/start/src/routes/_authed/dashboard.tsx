import { createFileRoute, Link } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { requireSessionMiddleware } from "#/lib/middleware"
import { loadDashboard } from "#/server/account"
import { Page } from "#/ui"

const loadDashboardFn = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => loadDashboard(context.session))

export const Route = createFileRoute("/_authed/dashboard")({
  loader: () => loadDashboardFn(),
  component: Dashboard
})

function Dashboard() {
  const data = Route.useLoaderData()
  return (
    <Page title="Dashboard">
      <div className="card">
        <p className="status signed-in">Signed in as <strong>{data.name}</strong> ({data.role})</p>
        <p>
          <code>requireSessionMiddleware</code> resolved you as <code>{data.caller}</code>.
        </p>
      </div>
      <div className="grid">
        <Link to="/settings" className="tile">
          <strong>Settings</strong>
          <span>Behind the <code>_authed</code> layout: the login page for anyone else</span>
        </Link>
        <Link to="/settings/tokens" className="tile">
          <strong>API tokens</strong>
          <span>Create <code>sk_live_…</code> tokens and call <code>/api/me</code> and <code>/api/v1/me</code></span>
        </Link>
        {data.admin && (
          <Link to="/admin" className="tile">
            <strong>Admin</strong>
            <span>Deactivate a user: their cookies and tokens stop working at once</span>
          </Link>
        )}
      </div>
    </Page>
  )
}
