/**
 * `npm start` in a browser: the Vite dev server serves modules one by one and tree-shakes
 * nothing, so a browser-facing entry that reaches a Node-only module (`node:crypto`) breaks
 * hydration here while the production build hides it. Each browser-facing entry is loaded in
 * Chromium as the dev server serves it; then a newcomer's first steps on the pages: sign up,
 * sign in, create a token, with no error on any page.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import type { Browser, Page } from "playwright-core"
import { repoRoot, type RunningApp, startDev } from "./support/app.ts"
import { launch } from "./support/browser.ts"

const PASSWORD = "correct horse battery staple"

let app: RunningApp
let browser: Browser

beforeAll(async () => {
  app = await startDev()
  browser = await launch()
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await app?.stop()
})

/** A page that records every uncaught error and console error it shows. */
const watched = async (): Promise<{ page: Page; errors: Array<string> }> => {
  const page = await (await browser.newContext()).newPage()
  const errors: Array<string> = []
  page.on("pageerror", (error) => errors.push(error.message))
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text())
  })
  return { page, errors }
}

describe("npm start in a browser (the Vite dev server)", () => {
  it("each browser-facing entry of fusion-auth loads in Chromium as the dev server serves it", async () => {
    const { page, errors } = await watched()
    await page.goto(`${app.url}/login`)
    for (const entry of ["client", "tanstack-start"]) {
      // A string, so the page runs the browser's own import() (this file's is rewritten for Node).
      const path = JSON.stringify(`/@fs${repoRoot}/src/${entry}.ts`)
      const loaded: unknown = await page.evaluate(
        `import(${path}).then((m) => Object.keys(m).sort(), (e) => "failed: " + (e && e.message || e))`
      )
      assert.isArray(loaded, `fusion-auth/${entry}: ${String(loaded)}`)
      assert.isAbove((loaded as Array<string>).length, 0, entry)
    }
    assert.deepStrictEqual(errors, [])
  }, 120_000)

  it("sign up, sign in and create a token on the pages, with no error on any of them", async () => {
    const { page, errors } = await watched()
    const email = `dev.${Date.now()}@example.com`
    await page.goto(`${app.url}/signup`)
    // Enabled only once React has hydrated the page.
    await page.getByRole("button", { name: "Create account" }).and(page.locator(":enabled")).waitFor({ timeout: 60_000 })
    await page.getByLabel("Name").fill("Dev")
    await page.getByLabel("Email").fill(email)
    await page.getByLabel("Password").fill(PASSWORD)
    await page.getByRole("button", { name: "Create account" }).click()
    await page.waitForURL(`${app.url}/dashboard`, { timeout: 60_000 })

    const fresh = await (await browser.newContext()).newPage()
    fresh.on("pageerror", (error) => errors.push(error.message))
    await fresh.goto(`${app.url}/login`)
    await fresh.getByRole("button", { name: "Sign in" }).and(fresh.locator(":enabled")).waitFor({ timeout: 60_000 })
    await fresh.getByLabel("Email").fill(email)
    await fresh.getByLabel("Password").fill(PASSWORD)
    await fresh.getByRole("button", { name: "Sign in" }).click()
    await fresh.waitForURL(`${app.url}/dashboard`, { timeout: 60_000 })

    await fresh.goto(`${app.url}/settings/tokens`)
    await fresh.getByLabel("Name").fill("from the dev server")
    await fresh.getByRole("button", { name: "Create token" }).and(fresh.locator(":enabled")).click({ timeout: 60_000 })
    const token = await fresh.getByLabel("New API token").inputValue({ timeout: 60_000 })
    assert.match(token, /^sk_live_/)
    const me = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })
    assert.deepInclude(await me.json(), { email, via: "token" })
    assert.deepStrictEqual(errors, [])
  }, 180_000)
})
