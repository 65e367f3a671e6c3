import { createFileRoute, useHydrated } from "@tanstack/react-router"
import { createServerFn, useServerFn } from "@tanstack/react-start"
import { Schema } from "effect"
import { type FormEvent, useState } from "react"
import { requireSessionMiddleware } from "#/lib/middleware"
import { CreateTokenInput, DEFAULT_SCOPE, EXPIRY_DAYS } from "#/lib/tokenForm"
import { createMyToken, listMyTokens, revokeMyToken } from "#/server/tokens"
import { Alert, Page, useAction, when } from "#/ui"

const listTokensFn = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => listMyTokens(context.session))

const createTokenFn = createServerFn({ method: "POST" })
  .middleware([requireSessionMiddleware])
  .validator(Schema.toStandardSchemaV1(CreateTokenInput))
  .handler(({ context, data }) => createMyToken(context.session, data))

const revokeTokenFn = createServerFn({ method: "POST" })
  .middleware([requireSessionMiddleware])
  .validator(Schema.toStandardSchemaV1(Schema.Struct({ tokenId: Schema.String })))
  .handler(({ context, data }) => revokeMyToken(context.session, data.tokenId))

export const Route = createFileRoute("/_authed/settings/tokens")({
  loader: () => listTokensFn(),
  component: Tokens
})

type Created = Awaited<ReturnType<typeof createTokenFn>>

function Tokens() {
  const { tokens, grantable } = Route.useLoaderData()
  const { error, act } = useAction()
  const createToken = useServerFn(createTokenFn)
  const revokeToken = useServerFn(revokeTokenFn)
  const [created, setCreated] = useState<Created | null>(null)
  const hydrated = useHydrated()

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = event.currentTarget
    const fields = new FormData(form)
    const data = {
      name: String(fields.get("name") ?? ""),
      scopes: fields.getAll("scopes").map(String),
      expiresInDays: Number(fields.get("expiresInDays"))
    } as CreateTokenInput
    const result = await act(() => createToken({ data }))
    if (result) {
      setCreated(result)
      form.reset()
    }
  }

  const revoke = (tokenId: string) => act(() => revokeToken({ data: { tokenId } }))

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
      <p><strong>{created.info.name}</strong>: copy this token now. It will not be shown again.</p>
      <div className="copy">
        <input readOnly value={created.token} aria-label="New API token" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={copy}>{copied ? "Copied" : "Copy"}</button>
      </div>
      <p>Try it:</p>
      {created.curl.map((line) => <pre key={line}><code>{line}</code></pre>)}
    </div>
  )
}
