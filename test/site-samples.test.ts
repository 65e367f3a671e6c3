/**
 * The docs' samples are type-checked where they stand (site/lib/samples.ts), here on Expressive
 * Code directly rather than a whole site build: a sample compiles with its page's files (a
 * `#/lib/auth` import is the page's `// src/lib/auth.ts` sample) against this repository's
 * src/, and one that does not compile fails the render and then the build.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ExpressiveCode, ExpressiveCodeBlock } from "expressive-code"
import { samples } from "../site/lib/samples.ts"

const repoRoot = join(import.meta.dirname, "..")
/** A page of the site whose `src/lib/auth.ts` the samples below import. */
const page = join(repoRoot, "docs", "sessions.md")
const folder = mkdtempSync(join(repoRoot, "site", ".samples-test-"))
const { plugin, integration } = samples(folder)
const engine = new ExpressiveCode({ plugins: [plugin] })

const render = async (code: string) => {
  const { renderedGroupAst } = await engine.render(new ExpressiveCodeBlock({ code, language: "ts", meta: "", parentDocument: { sourceFilePath: page } }))
  return JSON.stringify(renderedGroupAst)
}

const buildDone = () => (integration.hooks["astro:build:done"] as unknown as (options: { logger: { info(message: string): void } }) => void)({ logger: { info: () => {} } })

describe("the docs' samples", () => {
  afterAll(() => rmSync(folder, { recursive: true, force: true }))

  it("compiles a sample with the page's files it imports, titled by its file, with type hovers", async () => {
    const html = await render(`// src/lib/email.ts\nimport { requireSession } from "#/lib/auth"\n\nexport const email = async () => (await requireSession()).user.email`)
    assert.include(html, `"value":"src/lib/email.ts"`)
    assert.notInclude(html, "// src/lib/email.ts")
    assert.notInclude(html, "---cut---")
    assert.include(html, "twoslash-popup-container")
    buildDone() // nothing failed
  }, 120_000)

  it("fails on a sample that does not compile, and so does the build", async () => {
    const failure = await render(`// src/lib/id.ts\nimport { requireSession } from "#/lib/auth"\n\nexport const id = async (): Promise<number> => (await requireSession()).user.email`)
      .then(() => "it rendered", (error: unknown) => String(error))
    assert.include(failure, "Type 'string' is not assignable to type 'number'")
    assert.throws(buildDone, /1 sample\(s\) do not compile:\ndocs\/sessions\.md \(src\/lib\/id\.ts\)/)
  }, 120_000)

  it("checks against a page's file as it is now, after an edit (as the dev server rewrites it)", async () => {
    const sample = `// src/lib/name.ts\nimport { requireSession } from "#/lib/auth"\n\nexport const name = async () => (await requireSession()).user.name`
    await render(sample)
    const auth = join(folder, "sessions", "src", "lib", "auth.ts")
    writeFileSync(auth, readFileSync(auth, "utf8").replaceAll("requireSession", "requireCaller"))
    const failure = await render(sample).then(() => "it rendered", (error: unknown) => String(error))
    assert.include(failure, `has no exported member 'requireSession'`)
  }, 120_000)
})
