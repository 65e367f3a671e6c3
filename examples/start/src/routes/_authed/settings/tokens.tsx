/**
 * `/settings/tokens`: the caller's own API tokens. The list comes with the page (a server
 * function); creating and revoking go through fusion-auth's Better Auth endpoints with the
 * client plugin (`authClient.fusionAuth.tokens`), which apply the same rules.
 */
import { createFileRoute, useHydrated } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { type FormEvent, useState } from "react"
import { authClient, unwrap } from "#/lib/authClient"
import { requireSessionMiddleware } from "#/lib/middleware"
import { DEFAULT_SCOPE, EXPIRY_DAYS, tryLines } from "#/lib/tokenForm"
import { listMyTokens } from "#/server/tokens"
import { Alert, Page, useAction, when } from "#/ui"

const listTokensFn = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => listMyTokens(context.session))

export const Route = createFileRoute("/_authed/settings/tokens")({
  loader: () => listTokensFn(),
  component: Tokens
})

interface Created {
  readonly name: string
  readonly token: string
  readonly curl: ReadonlyArray<string>
}

const DAY = 86_400

function Tokens() {
  const { tokens, grantable } = Route.useLoaderData()
  const { error, act } = useAction()
  const [created, setCreated] = useState<Created | null>(null)
  const hydrated = useHydrated()

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = event.currentTarget
    const fields = new FormData(form)
    const result = await act(() =>
      unwrap(authClient.fusionAuth.tokens.create({
        name: String(fields.get("name") ?? ""),
        scopes: fields.getAll("scopes").map(String),
        expiresIn: Number(fields.get("expiresInDays")) * DAY
      }))
    )
    if (result) {
      setCreated({ name: result.info.name, token: result.token, curl: tryLines(window.location.origin, result.token, result.info.scopes) })
      form.reset()
    }
  }

  const revoke = (tokenId: string) => act(() => unwrap(authClient.fusionAuth.tokens.revoke({ tokenId })))

  return (
    <Page title="API tokens">
      <p className="muted">
        A token works wherever your browser session does, within the scopes you give it: send it as{" "}
        <code>Authorization: Bearer sk_live_…</code>. Only a digest is stored, so a token is shown once, when it is created.
      </p>
      <form className="card row" method="post" onSubmit={create}>
        <label>
          Name
          <input name="name" required maxLength={100} placeholder="e.g. CI deploy" />
        </label>
        <label>
          Expires
          <select name="expiresInDays" defaultValue="30">
            {EXPIRY_DAYS.map((days) => <option key={days} value={days}>in {days} days</option>)}
          </select>
        </label>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {grantable.map((scope) => (
            <label key={scope} className="check">
              <input type="checkbox" name="scopes" value={scope} defaultChecked={scope === DEFAULT_SCOPE} />
              {scope}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={!hydrated}>Create token</button>
      </form>
      {error && <Alert>{error}</Alert>}
      {created && <NewToken created={created} />}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Token</th>
            <th>Scopes</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {tokens.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">No tokens yet.</td>
            </tr>
          )}
          {tokens.map((token) => (
            <tr key={token.id} data-token-id={token.id} className={token.revokedAt ? "revoked" : undefined}>
              <td>{token.name}</td>
              <td><code>{token.hint}</code></td>
              <td className="scopes">{token.scopes.length === 0 ? <span className="muted">none</span> : token.scopes.map((scope) => <code key={scope}>{scope}</code>)}</td>
              <td className="when">{when(token.createdAt)}</td>
              <td className="when">{when(token.lastUsedAt, "never")}</td>
              <td className="when">{when(token.expiresAt, "never")}</td>
              <td>
                {token.revokedAt
                  ? <><span className="badge">revoked</span> <small className="muted">{when(token.revokedAt)}</small></>
                  : <button type="button" className="danger" onClick={() => revoke(token.id)}>Revoke</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  )
}

function NewToken({ created }: { readonly created: Created }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    await navigator.clipboard.writeText(created.token)
    setCopied(true)
  }
  return (
    <div className="card new-token" role="status">
      <p><strong>{created.name}</strong>: copy this token now. It will not be shown again.</p>
      <div className="copy">
        <input readOnly value={created.token} aria-label="New API token" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={copy}>{copied ? "Copied" : "Copy"}</button>
      </div>
      <p>Try it:</p>
      {created.curl.map((line) => <pre key={line}><code>{line}</code></pre>)}
    </div>
  )
}
