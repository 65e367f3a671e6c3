/**
 * Type-checks every TypeScript sample in README.md and docs/*.md.
 *
 * A sample whose first line is a `// path/file.ts` comment (under `src/` or `test/`, or the
 * app's `vite.config.ts`) is written to that path of a scratch project, so samples import each
 * other as an app's files do (`#/lib/auth` is `src/lib/auth.ts`); `fusion-auth` resolves to
 * this repo's `src`. Others are checked alone. A page with TanStack route files
 * (`createFileRoute`) gets its route tree generated, as the Vite plugin would, over a bare root
 * route and router when the page shows none, so route paths and loader data are typed.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"

const root = join(import.meta.dirname, "..")
const out = join(root, ".docs-check")
const pages = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]

rmSync(out, { recursive: true, force: true })
let count = 0
for (const page of pages) {
  const text = readFileSync(join(root, page), "utf8")
  const project = join(out, page.replace(/\W+/g, "_"))
  for (const [, lang, body] of text.matchAll(/```(ts|tsx)\n([\s\S]*?)```/g)) {
    const header = /^\/\/ ((?:(?:src|test)\/[\w./$[\]-]+|vite\.config)\.tsx?)\n/.exec(body!)
    const file = join(project, header ? header[1]! : `sample-${count}.${lang}`)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, body!)
    count++
  }
  if (!existsSync(project)) continue // a page without TypeScript samples
  await generateRouteTree(project)
  writeFileSync(join(project, "tsconfig.json"), JSON.stringify({
    extends: "../../tsconfig.json",
    compilerOptions: { noEmit: true, module: "esnext", moduleResolution: "bundler", paths: { "fusion-auth": ["../../src/index.ts"], "fusion-auth/*": ["../../src/*.ts"], "#/*": ["./src/*"] } },
    include: ["**/*.ts", "**/*.tsx"]
  }))
}

/** TanStack's route generator, as `@tanstack/react-start`'s Vite plugin resolves it. */
async function generateRouteTree(project: string): Promise<void> {
  const routes = join(project, "src", "routes")
  const files = existsSync(routes) ? readdirSync(routes, { recursive: true, encoding: "utf8" }) : []
  if (!files.some((f) => /\.tsx?$/.test(f) && readFileSync(join(routes, f), "utf8").includes("createFileRoute("))) return
  const scaffold = {
    "src/routes/__root.tsx": `import { createRootRoute } from "@tanstack/react-router"\nexport const Route = createRootRoute()\n`,
    "src/router.tsx": `import { createRouter } from "@tanstack/react-router"\nimport { routeTree } from "./routeTree.gen"\nexport const getRouter = () => createRouter({ routeTree })\n`
  }
  for (const [file, text] of Object.entries(scaffold)) if (!existsSync(join(project, file))) writeFileSync(join(project, file), text)
  const from = (specifier: string, parent: string) => createRequire(parent).resolve(specifier)
  const core = from("@tanstack/start-plugin-core/package.json", from("@tanstack/react-start/package.json", join(root, "package.json")))
  const generator = join(dirname(from("@tanstack/router-generator/package.json", core)), "dist/esm/index.js")
  const { Generator, getConfig } = await import(pathToFileURL(generator).href) as typeof import("@tanstack/router-generator")
  // The footer `@tanstack/react-start`'s plugin writes: the router is Start's registered router.
  const routeTreeFileFooter = [
    `import type { getRouter } from './router.tsx'`,
    `import type { createStart } from '@tanstack/react-start'`,
    `declare module '@tanstack/react-start' {\n  interface Register {\n    ssr: true\n    router: Awaited<ReturnType<typeof getRouter>>\n  }\n}`
  ]
  const config = getConfig({ routesDirectory: routes, generatedRouteTree: join(project, "src", "routeTree.gen.ts"), routeTreeFileFooter, disableLogging: true }, project)
  await new Generator({ config, root: project }).run()
}

const projects = readdirSync(out)
for (const project of projects) {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(out, project)], { stdio: "inherit" })
}
console.log(`docs: ${count} samples in ${pages.length} pages type-check`)
