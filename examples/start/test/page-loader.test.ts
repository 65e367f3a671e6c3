/**
 * A page whose loader calls `requireSession()` through a server function (/settings, and
 * /settings/tokens), loaded whole over plain HTTP on the Vite dev server, as a script would:
 * a refused Bearer token gets the 401 and its `WWW-Authenticate` challenge as the page's own
 * status (not a 500 from SSR failing to serialize the thrown Response); the same server
 * function over its RPC endpoint still answers 401; a caller without a session is still sent
 * to the login page.
 *
 * Users sign up over HTTP. Their tokens are made and revoked, and a user deactivated, with
 * the library in this process, on the app's embedded database reached through the app
 * (`connectToOwner`, as the CLI does): that is how a token gets an expiry of two seconds.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { Redacted } from "effect"
import { createAuthSession, fusionAuth } from "fusion-auth"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { tokenPolicy } from "#/lib/tokenPolicy"
import { type RunningApp, startDev } from "./support/app.ts"

const PASSWORD = "correct horse battery staple"
const CHALLENGE = `Bearer error="invalid_token"`

let dataDir: string
let app: RunningApp
let library: ReturnType<typeof createLibrary>
let admin: Account

/** fusion-auth as a script uses it, on the database the running app owns. */
const createLibrary = (folder: string) =>
  createAuthSession(
    betterAuth({
      secret: "page-loader-test-secret-0123456789abcdef",
      baseURL: app.url,
      telemetry: { enabled: false },
      plugins: [fusionAuth()]
    }),
    { database: { dataDir: folder, connectToOwner: true }, tokens: tokenPolicy }
  )

interface Account {
  readonly id: string
  readonly email: string
  readonly cookie: string
}

/** Signs up over Better Auth's HTTP API: the user's id, email and the browser's cookie. */
const signUp = async (name: string): Promise<Account> => {
  const email = `${name.toLowerCase()}@example.com`
  const response = await fetch(`${app.url}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: app.url },
    body: JSON.stringify({ name, email, password: PASSWORD })
  })
  assert.strictEqual(response.status, 200, `sign-up of ${name}`)
  const body = (await response.json()) as { user: { id: string } }
  return { id: body.user.id, email, cookie: response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") }
}

/** A new token of this user (read scope; the policy's lifetime unless `expiresAt`). */
const tokenFor = async (userId: string, expiresAt?: Date) => {
  const { token, info } = await library.tokens.create({ userId, name: "page-loader test", scopes: ["read"], expiresAt })
  return { token: Redacted.value(token), id: info.id }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A full page load (SSR), never following a redirect. */
const page = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, { redirect: "manual", headers })

/** The answer's status, challenge and, for a 401, its JSON body. */
const refusalOf = async (response: Response) => {
  const text = await response.text()
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    body: response.status === 401 ? (JSON.parse(text) as Record<string, unknown>) : null
  }
}

/** The status, the body left unread. */
const statusOf = async (response: Response): Promise<number> => {
  await response.body?.cancel()
  return response.status
}

const refused = (reason: string) => ({ status: 401, challenge: CHALLENGE, body: { error: "invalid_token", reason } })

/** The id of the /settings loader's server function, as the browser's copy of the route calls it. */
const settingsServerFn = async (): Promise<string> => {
  const source = await (await fetch(`${app.url}/src/routes/settings/index.tsx`)).text()
  const id = /createClientRpc\("([^"]+)"\)/.exec(source)?.[1]
  assert.isDefined(id, "the route module served to the browser names its server function")
  return id!
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "fusion-auth-page-loader-"))
  app = await startDev({ dataDir })
  library = createLibrary(join(dataDir, "pglite"))
  admin = await signUp("Admin") // the first account: the site admin
  // The first page load compiles the routes; later ones answer in milliseconds.
  assert.strictEqual(await statusOf(await page("/settings")), 307)
}, 180_000)

afterAll(async () => {
  await library?.dispose()
  await app?.stop()
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

describe("a page whose loader calls requireSession(), loaded over HTTP", () => {
  it("a valid token gets the page; a cookie too; no credential is sent to the login page", async () => {
    const member = await signUp("Member")
    const { token } = await tokenFor(member.id)

    const viaToken = await page("/settings", bearer(token))
    assert.strictEqual(viaToken.status, 200)
    assert.include(await viaToken.text(), member.email)
    assert.strictEqual(await statusOf(await page("/settings", { cookie: member.cookie })), 200)

    const anonymous = await page("/settings")
    assert.strictEqual(anonymous.status, 307)
    assert.strictEqual(anonymous.headers.get("location"), "/login?redirect=%2Fsettings")
    assert.isNull(anonymous.headers.get("www-authenticate"))
  })

  it("a revoked token gets 401 invalid_token as the page's status, on every such page", async () => {
    const member = await signUp("Revoked")
    const { token, id } = await tokenFor(member.id)
    assert.strictEqual(await statusOf(await page("/settings/tokens", bearer(token))), 200)

    await library.tokens.revoke(member.id, id)
    for (const path of ["/settings", "/settings/tokens"]) {
      assert.deepStrictEqual(await refusalOf(await page(path, bearer(token))), refused("InvalidToken"), path)
    }
    assert.deepStrictEqual(await refusalOf(await page("/settings", bearer("sk_live_not-a-token"))), refused("InvalidToken"))
  })

  it("a deactivated user's token gets 401 invalid_token", async () => {
    const member = await signUp("Deactivated")
    const { token } = await tokenFor(member.id)
    assert.strictEqual(await statusOf(await page("/settings", bearer(token))), 200)

    await library.users.deactivate(member.id, admin.id)
    assert.deepStrictEqual(await refusalOf(await page("/settings", bearer(token))), refused("Deactivated"))
  })

  it("a token gets the page until it expires, then 401 invalid_token", async () => {
    const member = await signUp("Expiring")
    const expiresAt = new Date(Date.now() + 2_000)
    const { token } = await tokenFor(member.id, expiresAt)
    const before = await statusOf(await page("/settings", bearer(token)))
    assert.isBelow(Date.now(), expiresAt.getTime(), "the first page load came before the expiry")
    assert.strictEqual(before, 200)

    await sleep(expiresAt.getTime() - Date.now() + 250)
    assert.deepStrictEqual(await refusalOf(await page("/settings", bearer(token))), refused("InvalidToken"))
  })

  it("the loader's server function over its RPC endpoint: 401 for the token, the login redirect for a browser", async () => {
    const id = await settingsServerFn()
    const rpc = (headers: Record<string, string>) =>
      fetch(`${app.url}/_serverFn/${id}`, {
        redirect: "manual",
        headers: { "x-tsr-serverfn": "true", origin: app.url, referer: `${app.url}/settings`, ...headers }
      })

    // A plain 401, as thrown: Start marks it for its client to reject the call with.
    const token = await rpc(bearer("sk_live_not-a-token"))
    assert.strictEqual(token.headers.get("x-tss-raw"), "thrown")
    assert.isNull(token.headers.get("location"))
    assert.deepStrictEqual(await refusalOf(token), refused("InvalidToken"))

    // Client navigation without a session: Start's serialized redirect, aimed at the page, not the RPC.
    const browser = await rpc({})
    assert.strictEqual(browser.status, 200)
    assert.deepInclude(await browser.json(), { href: "/login?redirect=%2Fsettings", statusCode: 302, isSerializedRedirect: true })
  })

  it("the dev server never failed to serialize a thrown Response", () => {
    assert.isFalse(app.output().includes("SerovalUnsupportedTypeError"), "the dev server logged a SerovalUnsupportedTypeError")
  })
})
