/**
 * The documentation site as a reader gets it: `npm run docs:build` (every TypeScript sample
 * type-checked by twoslash, internal links checked, the API reference generated), the static
 * build served on loopback, and headless Chromium reading it. Screenshots go to
 * test-results/site/ (git-ignored) for a reviewer to look at.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { dirname, extname, join, normalize } from "node:path"
import type { Browser, Page } from "playwright-core"
import { launch } from "../examples/start/test/support/browser.ts"

const repoRoot = join(import.meta.dirname, "..")
const dist = join(repoRoot, "site", "dist")
const shots = join(repoRoot, "test-results", "site")
const docs = readdirSync(join(repoRoot, "docs")).filter((file) => file.endsWith(".md"))

/** The ```ts and ```tsx blocks of README.md and docs/*.md (a list item's too): the samples the build must check. */
const samples = ["README.md", ...docs.map((file) => `docs/${file}`)]
  .map((page) => readFileSync(join(repoRoot, page), "utf8").match(/^ *```tsx?$/gm)?.length ?? 0)
  .reduce((a, b) => a + b, 0)

let buildOutput = ""
let server: Server
let site: string
let browser: Browser
let page: Page
const consoleErrors: Array<string> = []

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".wasm": "application/wasm"
}

/** The static build over HTTP, as a static host serves it: `/x/` is `x/index.html`. */
const serve = () =>
  new Promise<string>((resolve) => {
    server = createServer((request, response) => {
      const path = normalize(decodeURIComponent(new URL(request.url!, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "")
      const file = [join(dist, path), join(dist, path, "index.html")].find((candidate) => existsSync(candidate) && !candidate.endsWith("/"))
      const found = file !== undefined && extname(file) !== ""
      response.writeHead(found ? 200 : 404, { "content-type": types[extname(found ? file! : ".html")] ?? "application/octet-stream" })
      response.end(readFileSync(found ? file! : join(dist, "404.html")))
    }).listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  })

/** The environment without what Vitest sets for its own Vite (`MODE`, `DEV`, `NODE_ENV`, …), which would make Astro build for development. */
const buildEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(VITEST.*|TEST|NODE_ENV|MODE|DEV|PROD|SSR|BASE_URL)$/.test(key)))

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) })

describe("the documentation site", () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true })
    // `npm run docs:build` as a developer runs it, on this repository's Node.
    buildOutput = await new Promise<string>((resolve, reject) => {
      execFile("npm", ["run", "docs:build"], {
        cwd: repoRoot,
        env: { ...buildEnv, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 900_000
      }, (error, stdout, stderr) => (error ? reject(new Error(`npm run docs:build failed:\n${stdout}\n${stderr}`)) : resolve(stdout + stderr)))
    })
    site = await serve()
    browser = await launch()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    // Starlight builds its search box in a requestIdleCallback with no timeout. Headless Chromium
    // can go on starving idle callbacks on a busy machine (puppeteer#10350): twice in CI the
    // dialog opened with no search box in 30 s. A browser on a screen gets idle periods; this
    // gives the callback the 2 s deadline Lighthouse's own tests give it, and changes nothing else.
    await page.addInitScript(() => {
      const requestIdle = window.requestIdleCallback.bind(window)
      const counts = { requested: 0, ran: 0 }
      Object.assign(window, { idleCallbacks: counts })
      window.requestIdleCallback = (callback, options) => {
        counts.requested++
        return requestIdle((deadline) => (counts.ran++, callback(deadline)), { timeout: 2_000, ...options })
      }
    })
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(`${page.url()}: ${message.text()} (${message.location().url})`)
    })
    page.on("pageerror", (error) => consoleErrors.push(`${page.url()}: ${error.message}`))
  }, 960_000)

  afterAll(async () => {
    await browser?.close()
    await new Promise((resolve) => server?.close(resolve))
  })

  it("type-checks every TypeScript sample of README.md and docs/*.md with twoslash", () => {
    assert.isAbove(samples, 40)
    assert.include(buildOutput, `${samples} TypeScript samples type-checked by twoslash`)
  })

  it("has a page for README.md, for every docs/*.md and for every entry point", () => {
    assert.isTrue(existsSync(join(dist, "index.html")))
    for (const file of docs) assert.isTrue(existsSync(join(dist, file.replace(/\.md$/, ""), "index.html")), file)
    const { exports } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { exports: Record<string, unknown> }
    const api = readFileSync(join(dist, "sessions", "index.html"), "utf8") // every page carries the sidebar
    for (const subpath of Object.keys(exports).filter((key) => key !== "./package.json")) {
      assert.include(api, `>fusion-auth${subpath.slice(1)}<`, `the API reference lists fusion-auth${subpath.slice(1)}`)
    }
  })

  it("renders the Sessions page with the spec's sections in the spec's order", async () => {
    await page.goto(`${site}/sessions/`)
    assert.strictEqual(await page.locator("h1").first().textContent(), "Sessions")
    assert.isTrue(await page.getByRole("link", { name: "Skip to content" }).count() > 0)
    const sections = await page.locator(".sl-markdown-content h2").allTextContents()
    assert.deepStrictEqual(sections.slice(0, 3), [
      "One choke point, two ways to authenticate",
      "The resolved shape",
      "Using them in server functions"
    ])
    // The code frames carry their file names, the spec's in its order.
    const titles = await page.locator(".sl-markdown-content figure figcaption .title").allTextContents()
    assert.deepStrictEqual(titles.filter((title) => ["src/lib/auth.ts", "src/routes/dashboard.tsx", "src/routes/settings.tsx"].includes(title)), [
      "src/lib/auth.ts",
      "src/routes/dashboard.tsx",
      "src/routes/settings.tsx"
    ])
    const text = await page.locator(".sl-markdown-content").innerText()
    const order = ["createAuthSession(auth) binds two helpers", "There are two ways to be authenticated", "Both paths resolve to the same type", "getSession — branch on anonymous yourself", "requireSession — let it throw"]
    const at = order.map((phrase) => text.indexOf(phrase))
    assert.notInclude(at, -1, `all of ${order.join(" / ")}`)
    assert.deepStrictEqual(at, [...at].sort((a, b) => a - b))
    await shot("sessions")
  })

  it("draws the choke-point diagram in the browser, as an SVG", async () => {
    await page.goto(`${site}/sessions/`)
    const diagram = page.locator("div.mermaid")
    await diagram.locator("svg").waitFor({ timeout: 30_000 })
    assert.notInclude(await diagram.innerText(), "Loading diagram...")
    assert.include(await diagram.locator("svg").textContent(), "Request headers")
    await diagram.scrollIntoViewIfNeeded()
    await shot("diagram")
  })

  it("shows the Session type when hovering a sample's `session`", async () => {
    await page.goto(`${site}/sessions/`)
    const frame = page.locator("figure", { has: page.locator(".title", { hasText: "src/lib/who.ts" }) })
    // A name with a type is `.twoslash-hover`: its popup, then the name itself.
    const session = frame.locator(".twoslash-hover").filter({ has: page.locator(":scope > span", { hasText: /^session$/ }) }).first()
    await session.evaluate((name) => name.scrollIntoView({ block: "center", behavior: "instant" })) // the popup opens below it, in view
    await session.hover()
    const popup = page.locator(".twoslash-popup-container:visible")
    await popup.waitFor({ timeout: 10_000 })
    assert.include(await popup.innerText(), "Session")
    await shot("hover")
  })

  it("finds requireSession with the search box, offline", async () => {
    // The button opens the dialog once the page's script has run: on a loaded machine, after `load`.
    await page.goto(`${site}/`, { waitUntil: "load" })
    const input = page.locator("dialog input[type=search], .pagefind-ui__search-input").first()
    for (let attempt = 0; !(await input.isVisible()); attempt++) {
      if (attempt === 6) {
        // Why, for the next time it happens: the dialog, Pagefind's UI in it, and what the page logged.
        const state = {
          dialogOpen: await page.locator("dialog[open]").count(),
          pagefindUi: await page.locator(".pagefind-ui").count(),
          idleCallbacks: await page.evaluate(() => (window as unknown as { idleCallbacks: unknown }).idleCallbacks),
          consoleErrors
        }
        assert.fail(`the Search button opened no search box in 30 s: ${JSON.stringify(state)}`)
      }
      // Once the dialog is open (its search box may still be loading, slowly on a busy machine), it
      // covers the button: wait for the box rather than click again.
      if (!(await page.locator("dialog[open]").first().isVisible())) await page.getByRole("button", { name: "Search" }).first().click()
      await input.waitFor({ state: "visible", timeout: 5_000 }).catch(() => undefined)
    }
    await input.fill("requireSession")
    const results = page.locator(".pagefind-ui__result-link")
    await results.first().waitFor({ timeout: 15_000 })
    const hrefs = await results.evaluateAll((links) => links.map((link) => link.getAttribute("href")))
    assert.isTrue(hrefs.some((href) => href?.startsWith("/sessions/")), `results: ${hrefs.join(", ")}`)
    await shot("search")
  })

  it("logs no console errors on its pages", async () => {
    for (const path of ["/", ...docs.map((file) => `/${file.replace(/\.md$/, "")}/`), "/api/"]) {
      await page.goto(`${site}${path}`)
      await page.waitForLoadState("networkidle")
    }
    assert.deepStrictEqual(consoleErrors, [])
  })
})
