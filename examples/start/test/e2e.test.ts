/**
 * The example app end to end, in headless Chromium, on its production build with a fresh
 * embedded database. The first account signed up (in `beforeAll`) is the site admin; every
 * test then signs up its own users. Screenshots of the main pages go to
 * test-results/start-e2e/ (git-ignored) for a reviewer to look at.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { createHash, generateKeyPairSync, sign } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { build, repoRoot, type RunningApp, startProduction } from "./support/app.ts"
import { launch } from "./support/browser.ts"

const shots = join(repoRoot, "test-results", "start-e2e")
const PASSWORD = "correct horse battery staple"

/** The key pair standing in for GitHub's secret-scanning key; the app is given its public half. */
const github = generateKeyPairSync("ec", { namedCurve: "prime256v1" })
const GITHUB_KEY_ID = "e2e-secret-scanning-key"
const githubKeys = JSON.stringify({
  public_keys: [{ key_identifier: GITHUB_KEY_ID, key: github.publicKey.export({ type: "spki", format: "pem" }).toString() }]
})

let app: RunningApp
let browser: Browser
let admin: Page
let n = 0

const url = (path: string) => `${app.url}${path}`
const person = (label: string) => {
  n++
  return { name: `${label} ${n}`, email: `${label.toLowerCase()}${n}.${Date.now()}@example.com` }
}
/** Waits until the page's main content shows this text (navigation renders after the URL changes). */
const see = (page: Page, text: string) => page.locator("main", { hasText: text }).waitFor({ timeout: 15_000 })
const screenshot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })

const newPage = async (): Promise<Page> => {
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1200, height: 800 } })
  return context.newPage()
}

const signUp = async (page: Page, who: { name: string; email: string }) => {
  await page.goto(url("/signup"))
  await page.getByLabel("Name").fill(who.name)
  await page.getByLabel("Email").fill(who.email)
  await page.getByLabel("Password").fill(PASSWORD)
  await page.getByRole("button", { name: "Create account" }).click()
  await page.waitForURL(url("/dashboard"))
}

/** Fills the login form the page is on and submits it. */
const signIn = async (page: Page, email: string) => {
  await page.getByLabel("Email").fill(email)
  await page.getByLabel("Password").fill(PASSWORD)
  await page.getByRole("button", { name: "Sign in" }).click()
}

/** Creates a token on /settings/tokens; `scopes` replaces the form's default (`read`). */
const createToken = async (page: Page, name: string, scopes?: ReadonlyArray<string>): Promise<string> => {
  await page.goto(url("/settings/tokens"))
  await page.getByLabel("Name").fill(name)
  if (scopes !== undefined) {
    await page.locator("button[type=submit]:enabled").waitFor()
    for (const box of await page.getByRole("checkbox").all()) await box.setChecked(scopes.includes(await box.inputValue()))
  }
  await page.getByRole("button", { name: "Create token" }).click()
  return page.getByLabel("New API token").inputValue()
}

const call = async (path: string, token?: string) => {
  const response = await fetch(url(path), { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  return {
    status: response.status,
    challenge: response.headers.get("www-authenticate"),
    body: (await response.json()) as Record<string, unknown>
  }
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true })
  await build()
  app = await startProduction({ env: { GITHUB_SECRET_SCANNING_KEYS: githubKeys }, fixedBaseURL: true })
  browser = await launch()
  admin = await newPage()
  await admin.goto(url("/signup"))
  await screenshot(admin, "01-signup")
  await signUp(admin, { name: "Site Admin", email: `admin.${Date.now()}@example.com` })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

describe("the production build", () => {
  it("the browser's bundle carries none of the server's code: no Better Auth server, no fusion-auth runtime, no database", () => {
    const client = join(repoRoot, "examples", "start", "dist", "client")
    const files = readdirSync(client, { recursive: true, encoding: "utf8" }).filter((file) => /\.(js|wasm)$/.test(file))
    assert.isTrue(files.some((file) => file.endsWith(".js")), "the build has client scripts")
    assert.deepStrictEqual(files.filter((file) => file.endsWith(".wasm")), [], "PGlite's WebAssembly")
    const read = (file: string) => readFileSync(join(client, file), "utf8")
    assert.isTrue(files.some((file) => read(file).includes("/fusion-auth/tokens/create")), "the client plugin is in the bundle")
    for (const file of files) {
      const code = read(file)
      // Better Auth's client (the token page's `authClient`) is meant to be here; its server is not.
      assert.notInclude(code, "internalAdapter", `Better Auth's server in ${file}`)
      assert.notInclude(code, "hashPassword", `Better Auth's server in ${file}`)
      assert.notInclude(code, "add fusionAuth() to the plugins", `fusion-auth's runtime in ${file}`)
    }
  })
})

describe("the example app in a browser", () => {
  it("the first account is the site admin; a later one is a member and cannot open /admin", async () => {
    await see(admin, "(admin)")
    await screenshot(admin, "04-dashboard")
    const page = await newPage()
    await signUp(page, person("Member"))
    await see(page, "(member)")
    assert.strictEqual(await page.getByRole("link", { name: "Admin" }).count(), 0)
    await page.goto(url("/admin"))
    await see(page, "Only site admins can do this.")
    await page.context().close()
  })

  it("sign out, then sign in: the redirect parameter is honoured, and only on this origin", async () => {
    const page = await newPage()
    const who = person("Reader")
    await signUp(page, who)
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.waitForURL(url("/login"))

    // Every page behind the `_authed` layout sends a browser without a session to the login page.
    await page.goto(url("/dashboard"))
    assert.strictEqual(page.url(), url("/login?redirect=%2Fdashboard"))
    await screenshot(page, "02-dashboard-to-login")

    await page.goto(url("/settings/tokens"))
    assert.strictEqual(page.url(), url("/login?redirect=%2Fsettings%2Ftokens"))
    await screenshot(page, "03-login")
    await signIn(page, who.email)
    await page.waitForURL(url("/settings/tokens"))

    await page.getByRole("button", { name: "Sign out" }).click()
    await page.waitForURL(url("/login"))
    await page.goto(url("/login?redirect=%2F%2Fevil.example%2Fsteal"))
    await signIn(page, who.email)
    await page.waitForURL(url("/dashboard"))
    await see(page, `Signed in as ${who.name}`)

    await page.goto(url("/login"))
    await page.getByLabel("Email").fill(who.email)
    await page.getByLabel("Password").fill("not the password")
    await page.getByRole("button", { name: "Sign in" }).click()
    assert.include(await page.getByRole("alert").innerText(), "Invalid email or password")
    await page.context().close()
  })

  it("a token made on /settings/tokens calls /api/me and /api/v1 until it is revoked, then gets 401", async () => {
    const page = await newPage()
    const who = person("Scripter")
    await signUp(page, who)
    await page.getByRole("link", { name: "Settings" }).first().click()
    await page.waitForURL(url("/settings"))
    await see(page, who.email)
    await screenshot(page, "05-settings")

    const token = await createToken(page, "deploy script")
    assert.match(token, /^sk_live_[0-9A-Za-z]+$/)
    const shown = await page.locator(".new-token").innerText()
    assert.include(shown, `curl -H "Authorization: Bearer ${token}" ${app.url}/api/me`)
    assert.include(shown, `${app.url}/api/v1/me`)
    await screenshot(page, "06-tokens")

    const caller = { email: who.email, name: who.name, role: "member", via: "token", scopes: ["read"] }
    const viaMe = await call("/api/me", token)
    assert.deepStrictEqual([viaMe.status, { ...viaMe.body, id: undefined }], [200, { ...caller, id: undefined }])
    const viaV1 = await call("/api/v1/me", token)
    assert.deepStrictEqual(viaV1, { status: 200, challenge: null, body: { ...caller, id: viaMe.body.id } })
    const listed = await fetch(url("/api/v1/tokens"), { headers: { authorization: `Bearer ${token}` } })
    const tokens = (await listed.json()) as Array<Record<string, unknown>>
    assert.deepStrictEqual(tokens.map((t) => t.name), ["deploy script"])
    assert.notInclude(JSON.stringify(tokens), token)

    // The browser's own cookie reaches the same endpoints, as itself.
    assert.strictEqual(((await (await page.request.get(url("/api/v1/me"))).json()) as { via: string }).via, "cookie")

    await page.reload()
    await see(page, "deploy script")
    assert.notInclude(await page.locator("main").innerText(), token)
    await page.getByRole("button", { name: "Revoke" }).click()
    await page.getByText("revoked", { exact: true }).waitFor()

    const refused = { status: 401, challenge: `Bearer error="invalid_token"`, body: { error: "invalid_token", reason: "InvalidToken" } }
    assert.deepStrictEqual(await call("/api/me", token), refused)
    assert.deepStrictEqual(await call("/api/v1/me", token), refused)
    assert.deepStrictEqual(await call("/api/v1/me"), {
      status: 401,
      challenge: "Bearer",
      body: { error: "unauthorized", reason: "Anonymous" }
    })
    await page.context().close()
  })

  it("a read-only token gets 403 insufficient_scope on /api/v1/admin/users; the admin's admin:users token gets 200", async () => {
    const readOnly = await createToken(admin, "read only")
    assert.deepStrictEqual(await call("/api/v1/admin/users", readOnly), {
      status: 403,
      challenge: `Bearer error="insufficient_scope", scope="admin:users"`,
      body: { error: "insufficient_scope", scope: "admin:users" }
    })

    const scoped = await createToken(admin, "user sync", ["read", "admin:users"])
    assert.include(await admin.locator(".new-token").innerText(), `curl -H "Authorization: Bearer ${scoped}" ${app.url}/api/v1/admin/users`)
    const listed = await call("/api/v1/admin/users", scoped)
    assert.strictEqual(listed.status, 200)
    assert.include((listed.body as unknown as Array<{ name: string }>).map((u) => u.name), "Site Admin")
    await admin.reload()
    assert.include(await admin.locator("tr", { hasText: "user sync" }).innerText(), "admin:users")
    await screenshot(admin, "09-token-scopes")

    // A member is offered `read`, `write` and `tokens:manage` only; a forged scope is refused by fusion-auth, by name.
    const page = await newPage()
    await signUp(page, person("Member"))
    await page.goto(url("/settings/tokens"))
    assert.deepStrictEqual(await page.getByRole("checkbox").evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value)), [
      "read",
      "write",
      "tokens:manage"
    ])
    await page.getByLabel("Name").fill("forged")
    await page.locator("fieldset.scopes").evaluate((fieldset) =>
      fieldset.insertAdjacentHTML("beforeend", `<input type="checkbox" name="scopes" value="admin:users" checked>`)
    )
    await page.getByRole("button", { name: "Create token" }).click()
    assert.strictEqual(await page.getByRole("alert").innerText(), "Missing scope admin:users")
    await page.locator(`input[value="admin:users"]`).evaluate((box) => ((box as HTMLInputElement).value = "root"))
    await page.getByRole("button", { name: "Create token" }).click()
    await page.getByRole("alert").getByText(`Invalid scopes: unknown scope "root"`, { exact: true }).waitFor()
    assert.strictEqual(await page.locator(".new-token").count(), 0)
    await page.context().close()
  })

  it("deactivation locks out a user's open browser session and token at once; reactivation lets both back in", async () => {
    const page = await newPage()
    const who = person("Contractor")
    await signUp(page, who)
    const token = await createToken(page, "laptop")
    await page.goto(url("/dashboard"))
    assert.strictEqual((await call("/api/v1/me", token)).status, 200)

    await admin.goto(url("/admin"))
    const row = admin.locator(`tr[data-email="${who.email}"]`)
    await row.getByRole("button", { name: "Deactivate" }).click()
    await row.getByText("deactivated", { exact: true }).waitFor()
    await screenshot(admin, "07-admin")

    // The user's next navigation (a client-side one) finds no session: the `_authed` guard sends them to /login.
    await page.getByRole("link", { name: "Settings" }).first().click()
    await page.waitForURL(url("/login?redirect=%2Fsettings"))
    const deactivated = { status: 401, challenge: `Bearer error="invalid_token"`, body: { error: "invalid_token", reason: "Deactivated" } }
    assert.deepStrictEqual(await call("/api/me", token), deactivated)
    assert.deepStrictEqual(await call("/api/v1/me", token), deactivated)
    await signIn(page, who.email)
    assert.include(await page.getByRole("alert").innerText(), "This account is deactivated")
    await screenshot(page, "08-login-deactivated")

    await row.getByRole("button", { name: "Reactivate" }).click()
    await row.getByText("active", { exact: true }).waitFor()
    await page.goto(url("/settings"))
    assert.strictEqual(page.url(), url("/settings"))
    await see(page, who.email)
    assert.deepStrictEqual((await call("/api/v1/me", token)).body.email, who.email)
    assert.strictEqual((await call("/api/me", token)).status, 200)
    await page.context().close()
  })

  it("GitHub reports a token made on the page: the signed report revokes it; an unsigned one changes nothing", async () => {
    const page = await newPage()
    await signUp(page, person("Leaker"))
    const token = await createToken(page, "pasted in a gist")
    assert.strictEqual((await call("/api/v1/me", token)).status, 200)

    const body = JSON.stringify([{ token, type: "fusion_auth_example_token", url: "https://gist.github.com/leaker/1", source: "gist_content" }])
    const post = (headers: Record<string, string>) =>
      fetch(url("/api/github/secret-scanning"), { method: "POST", headers: { "content-type": "application/json", ...headers }, body })
    const unsigned = await post({})
    assert.strictEqual(unsigned.status, 401)
    assert.strictEqual((await call("/api/v1/me", token)).status, 200)

    const reported = await post({
      "github-public-key-identifier": GITHUB_KEY_ID,
      "github-public-key-signature": sign("sha256", Buffer.from(body), github.privateKey).toString("base64")
    })
    assert.strictEqual(reported.status, 200)
    assert.deepStrictEqual(await reported.json(), [{
      token_hash: createHash("sha256").update(token).digest("hex"),
      token_type: "fusion_auth_example_token",
      label: "true_positive"
    }])
    assert.strictEqual((await call("/api/v1/me", token)).status, 401)
    await page.reload()
    await page.locator("tr", { hasText: "pasted in a gist" }).getByText("revoked", { exact: true }).waitFor()
    await page.context().close()
  })
})
