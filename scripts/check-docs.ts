/**
 * Type-checks every TypeScript sample in README.md and docs/*.md.
 *
 * A sample whose first line is a `// path/file.ts` comment is written to that path of a
 * scratch project, so samples import each other as an app's files do (`#/lib/auth` is
 * `src/lib/auth.ts`); `fusion-auth` resolves to this repo's `src`. Others are checked alone.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

const root = join(import.meta.dirname, "..")
const out = join(root, ".docs-check")
const pages = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]

rmSync(out, { recursive: true, force: true })
let count = 0
for (const page of pages) {
  const text = readFileSync(join(root, page), "utf8")
  const project = join(out, page.replace(/\W+/g, "_"))
  for (const [, lang, body] of text.matchAll(/```(ts|tsx)\n([\s\S]*?)```/g)) {
    const header = /^\/\/ ((?:src|test)\/[\w./[\]-]+\.tsx?)\n/.exec(body!)
    const file = join(project, header ? header[1]! : `sample-${count}.${lang}`)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, body!)
    count++
  }
  if (!existsSync(project)) continue // a page without TypeScript samples
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
    extends: "../../tsconfig.json",
    compilerOptions: { noEmit: true, module: "esnext", moduleResolution: "bundler", paths: { "fusion-auth": ["../../src/index.ts"], "#/*": ["./src/*"] } },
    include: ["**/*.ts", "**/*.tsx"]
  }))
}

const projects = readdirSync(out)
for (const project of projects) {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(out, project)], { stdio: "inherit" })
}
console.log(`docs: ${count} samples in ${pages.length} pages type-check`)
