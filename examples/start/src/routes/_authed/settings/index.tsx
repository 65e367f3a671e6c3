import { createFileRoute, Link } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { requireSessionMiddleware } from "#/lib/middleware"
import { loadSettings } from "#/server/account"
import { Page, when } from "#/ui"

const loadSettingsFn = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => loadSettings(context.session))

export const Route = createFileRoute("/_authed/settings/")({
  loader: () => loadSettingsFn(),
  component: Settings
})

function Settings() {
  const account = Route.useLoaderData()
  return (
    <Page title="Settings">
      <dl className="card facts">
        <dt>Name</dt>
        <dd>{account.name}</dd>
        <dt>Email</dt>
        <dd>{account.email}</dd>
        <dt>Role</dt>
        <dd>{account.role}</dd>
        <dt>Member since</dt>
        <dd>{when(account.memberSince)}</dd>
        <dt>This browser session expires</dt>
        <dd>{when(account.sessionExpires)}</dd>
      </dl>
      <p className="muted">
        This page sits under the <code>_authed</code> layout: without a session (or once an admin deactivates you) its
        guard sends you to <code>/login?redirect=/settings</code>. Its loader's server function checks again with{" "}
        <code>requireSessionMiddleware</code>. Manage your <Link to="/settings/tokens">API tokens</Link>.
      </p>
    </Page>
  )
}
