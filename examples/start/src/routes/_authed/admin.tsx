import { createFileRoute, type ErrorComponentProps } from "@tanstack/react-router"
import { createServerFn, useServerFn } from "@tanstack/react-start"
import { Schema } from "effect"
import { requireSessionMiddleware } from "#/lib/middleware"
import { listUsers, setActive } from "#/server/admin"
import { Alert, message, Page, useAction, when } from "#/ui"

const listUsersFn = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => listUsers(context.session))

const setActiveFn = createServerFn({ method: "POST" })
  .middleware([requireSessionMiddleware])
  .validator(Schema.toStandardSchemaV1(Schema.Struct({ userId: Schema.String, active: Schema.Boolean })))
  .handler(({ context, data }) => setActive(context.session, data))

export const Route = createFileRoute("/_authed/admin")({
  loader: () => listUsersFn(),
  component: Admin,
  errorComponent: AdminError
})

function Admin() {
  const { me, users } = Route.useLoaderData()
  const { error, act } = useAction()
  const setActiveUser = useServerFn(setActiveFn)
  const toggle = (userId: string, active: boolean) => act(() => setActiveUser({ data: { userId, active } }))

  return (
    <Page title="Users">
      <p className="muted">
        Deactivating keeps a user's sessions and tokens but the choke point refuses them on their very next request;
        reactivating lets the same ones back in.
      </p>
      {error && <Alert>{error}</Alert>}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>Joined</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id} data-email={user.email} className={user.deactivatedAt ? "revoked" : undefined}>
              <td>{user.name}</td>
              <td>{user.email}</td>
              <td>{user.role}</td>
              <td className="when">{when(user.createdAt)}</td>
              <td>
                {user.deactivatedAt
                  ? <><span className="badge">deactivated</span> <small className="muted">{when(user.deactivatedAt)}</small></>
                  : "active"}
              </td>
              <td>
                {user.id === me
                  ? <span className="muted">you</span>
                  : user.deactivatedAt
                  ? <button type="button" onClick={() => toggle(user.id, true)}>Reactivate</button>
                  : <button type="button" className="danger" onClick={() => toggle(user.id, false)}>Deactivate</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  )
}

function AdminError({ error }: ErrorComponentProps) {
  return (
    <Page title="Users">
      <Alert>{message(error)}</Alert>
    </Page>
  )
}
