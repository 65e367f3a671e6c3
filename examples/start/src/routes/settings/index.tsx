import { createFileRoute, Link } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { loginThenBackTo } from "#/lib/login"
import { loadSettings } from "#/server/account"
import { Page, when } from "#/ui"

const loadSettingsFn = createServerFn().handler(() => loadSettings())

export const Route = createFileRoute("/settings/")({
  loader: ({ location }) => loadSettingsFn().catch(loginThenBackTo(location.href)),
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
        This page's loader calls <code>requireSession()</code>: without a session (or once an admin deactivates you)
        it redirects to <code>/login?redirect=/settings</code>. Manage your <Link to="/settings/tokens">API tokens</Link>.
      </p>
    </Page>
  )
}
