/**
 * The pages behind the `_authed` layout, loaded whole over plain HTTP on the Vite dev server,
 * as a script would: a refused Bearer token gets the 401 and its `WWW-Authenticate` challenge
 * as the page's own status (not a 500 from SSR failing to serialize the thrown Response); the
 * loader's server function over its RPC endpoint still answers 401; a caller without a
 * session is sent to the login page by the layout's guard.
 *
 * During SSR the first server function to resolve the caller refuses the token: the root's
 * (`sessionMiddleware`, for the navigation bar), with the same 401 the pages' own
 * `requireSessionMiddleware` throws (and throws over RPC, below).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { setTimeout as sleep } from "node:timers/promises"
import { type Account, bearer, startDevWithLibrary } from "./support/dev-app.ts"

const CHALLENGE = `Bearer error="invalid_token"`
const PAGES = ["/dashboard", "/settings", "/settings/tokens", "/admin"]

let dev: Awaited<ReturnType<typeof startDevWithLibrary>>
let admin: Account

/** A full page load (SSR), never following a redirect. */
const page = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${dev.url}${path}`, { redirect: "manual", headers })

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

beforeAll(async () => {
  dev = await startDevWithLibrary()
  admin = await dev.signUp("Admin") // the first account: the site admin
  // The first page load compiles the routes; later ones answer in milliseconds.
  assert.strictEqual(await statusOf(await page("/settings")), 307)
}, 180_000)

afterAll(async () => {
  await dev?.stop()
})

describe("a page behind the _authed layout, loaded over HTTP", () => {
  it("a valid token gets the page; a cookie too; no credential is sent to the login page", async () => {
    const member = await dev.signUp("Member")
    const { token } = await dev.tokenFor(member.id)

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
    const member = await dev.signUp("Revoked")
    const { token, id } = await dev.tokenFor(member.id)
    assert.strictEqual(await statusOf(await page("/settings/tokens", bearer(token))), 200)

    await dev.tokens.revoke(member.id, id)
    for (const path of [...PAGES, "/login"]) {
      assert.deepStrictEqual(await refusalOf(await page(path, bearer(token))), refused("InvalidToken"), path)
    }
    assert.deepStrictEqual(await refusalOf(await page("/settings", bearer("sk_live_not-a-token"))), refused("InvalidToken"))
  })

  it("a deactivated user's token gets 401 invalid_token", async () => {
    const member = await dev.signUp("Deactivated")
    const { token } = await dev.tokenFor(member.id)
    assert.strictEqual(await statusOf(await page("/settings", bearer(token))), 200)

    await dev.users.deactivate(member.id, admin.id)
    assert.deepStrictEqual(await refusalOf(await page("/settings", bearer(token))), refused("Deactivated"))
  })

  it("a token gets the page until it expires, then 401 invalid_token", async () => {
    const member = await dev.signUp("Expiring")
    const expiresAt = new Date(Date.now() + 2_000)
    const { token } = await dev.tokenFor(member.id, expiresAt)
    const before = await statusOf(await page("/settings", bearer(token)))
    assert.isBelow(Date.now(), expiresAt.getTime(), "the first page load came before the expiry")
    assert.strictEqual(before, 200)

    await sleep(expiresAt.getTime() - Date.now() + 250)
    assert.deepStrictEqual(await refusalOf(await page("/settings", bearer(token))), refused("InvalidToken"))
  })

  it("the loader's server function over its RPC endpoint: 401 for the token, the login redirect for a browser", async () => {
    const id = await dev.serverFnId("/src/routes/_authed/settings/index.tsx", "loadSettingsFn")
    const rpc = (headers: Record<string, string>) => dev.rpc(id, headers, "/settings")

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
    assert.isFalse(dev.app.output().includes("SerovalUnsupportedTypeError"), "the dev server logged a SerovalUnsupportedTypeError")
  })
})
