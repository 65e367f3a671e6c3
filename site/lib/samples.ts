/**
 * Every TypeScript sample of README.md and docs/*.md is type-checked where it stands, by
 * twoslash, against this repository's src/ (`fusion-auth`, `fusion-auth/effect`, …), and
 * rendered with its type hovers. A sample that does not compile fails the build.
 *
 * A page's samples are the files of one app: a sample whose first line is `// src/lib/auth.ts`
 * is that file (its code frame is titled so), and the others import it as `#/lib/auth`. So the
 * page's files are written to site/.samples/<page>/ (with the route tree that TanStack's
 * generator writes from the page's routes, over a bare root route and router when the page
 * shows none), and each sample is checked by twoslash as a file beside them. The Markdown
 * stays plain: what twoslash needs besides the sample is put before a `---cut---` here.
 */
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, posix } from "node:path"
import type { AstroIntegration } from "astro"
import ecTwoSlash from "expressive-code-twoslash"
import ts from "typescript"
import type * as TypeScript from "typescript"
import { pageSlug, repoRoot } from "./pages.ts"

/** The first line of a sample that is a file of the app: `// src/lib/auth.ts`. */
const fileHeader = /^\/\/ ((?:(?:src|test)\/[\w./$[\]-]+|vite\.config)\.tsx?)$/

/** The pages' apps, one folder each (git-ignored, written anew by every build). */
const defaultFolder = join(repoRoot, "site", ".samples")

/**
 * The repository's compiler options, as a page's app has them: bundler resolution, `#/x` is
 * the app's `src/x` (relative to `baseUrl`, the page's folder) and `fusion-auth` this src/.
 */
const compilerOptions = (() => {
  const { config } = ts.readConfigFile(join(repoRoot, "tsconfig.json"), ts.sys.readFile)
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, repoRoot)
  return {
    ...options,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    paths: { "fusion-auth": [join(repoRoot, "src/index.ts")], "fusion-auth/*": [join(repoRoot, "src/*.ts")], "#/*": ["src/*"] }
  }
})()

/**
 * TypeScript as twoslash gets it: every language service shares one document registry that
 * keeps what it parsed, so the declarations of effect, better-auth, React… are parsed once per
 * build instead of once per sample (expressive-code-twoslash makes a new twoslash, and so a new
 * language service, for every sample: 152 s → 90 s for the site's build). A file of
 * node_modules keeps its first parse; any other (a page's app, this src/, the sample itself) is
 * versioned by its text as well as by twoslash, so an edit is seen, and a sample never gets
 * another one's file of the same name or a tree twoslash has since re-parsed in place.
 */
const retainingTs = () => {
  const registry = ts.createDocumentRegistry()
  const releaseNothing = () => {}
  const documents: ts.DocumentRegistry = { ...registry, releaseDocument: releaseNothing, releaseDocumentWithKey: releaseNothing }
  const version = (host: ts.LanguageServiceHost, file: string) => {
    if (file.includes("/node_modules/")) return host.getScriptVersion(file)
    const snapshot = host.getScriptSnapshot(file)
    const text = snapshot === undefined ? "" : snapshot.getText(0, snapshot.getLength())
    return `${host.getScriptVersion(file)}:${createHash("sha1").update(text).digest("base64")}`
  }
  const createLanguageService: typeof ts.createLanguageService = (host) =>
    ts.createLanguageService({ ...host, getScriptVersion: (file) => version(host, file) }, documents)
  // The module's namespace, as twoslash types it (with the `default` that interop adds).
  return { ...ts, createLanguageService } as typeof TypeScript
}

type Files = Map<string, string>

/** The files a page shows: each ```ts/```tsx block that starts with a file header. */
const pageFiles = (markdown: string): Files => {
  const files: Files = new Map()
  for (const [, body] of markdown.matchAll(/```tsx?\n([\s\S]*?)```/g)) {
    const [first, ...rest] = body!.split("\n")
    const path = fileHeader.exec(first!)?.[1]
    if (path) files.set(path, rest.join("\n"))
  }
  return files
}

/** The page's files that a file imports (`#/lib/auth`, `./routeTree.gen`, `../src/server/x.ts`), transitively. */
const imported = (path: string, code: string, files: Files, seen = new Set<string>()): Set<string> => {
  for (const [, specifier] of code.matchAll(/(?:from|import)\s*\(?\s*["']([#.][^"']*)["']/g)) {
    const base = specifier!.startsWith("#/") ? `src/${specifier!.slice(2)}` : posix.join(posix.dirname(path), specifier!)
    const found = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`].find((file) => files.has(file))
    if (found && !seen.has(found)) imported(found, files.get(found)!, files, seen.add(found))
  }
  return seen
}

const isFileRoute = (code: string) => /\bcreateFileRoute\(/.test(code)

interface PageApp {
  readonly dir: string
  readonly files: Files
}

/** The page's app on disk, written once per page text. */
const pageApp = (apps: Map<string, Promise<PageApp>>, folder: string, page: string): Promise<PageApp> => {
  const text = readFileSync(page, "utf8")
  const key = `${page}\0${text}`
  let app = apps.get(key)
  if (!app) apps.set(key, app = writeApp(join(folder, pageSlug(page)!), pageFiles(text)))
  return app
}

const writeApp = async (dir: string, files: Files): Promise<PageApp> => {
  rmSync(dir, { recursive: true, force: true })
  if ([...files.values()].some(isFileRoute)) {
    files.set("src/routes/__root.tsx", files.get("src/routes/__root.tsx") ?? `import { createRootRoute } from "@tanstack/react-router"\nexport const Route = createRootRoute()\n`)
    files.set("src/router.tsx", files.get("src/router.tsx") ?? `import { createRouter } from "@tanstack/react-router"\nimport { routeTree } from "./routeTree.gen"\nexport const getRouter = () => createRouter({ routeTree })\n`)
  }
  for (const [path, text] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  if (files.has("src/router.tsx")) await generateRouteTree(dir)
  return { dir, files }
}

/** `src/routeTree.gen.ts` as `@tanstack/react-start`'s Vite plugin writes it: TanStack's generator, the same footer. */
const generateRouteTree = async (dir: string) => {
  const from = (specifier: string, parent: string) => createRequire(parent).resolve(specifier)
  const core = from("@tanstack/start-plugin-core/package.json", from("@tanstack/react-start/package.json", join(repoRoot, "package.json")))
  // Its CommonJS build: this module runs in the Vite module runner that loaded Astro's config.
  const { Generator, getConfig } = createRequire(core)("@tanstack/router-generator") as typeof import("@tanstack/router-generator")
  const routeTreeFileFooter = [
    `import type { getRouter } from './router.tsx'`,
    `import type { createStart } from '@tanstack/react-start'`,
    `declare module '@tanstack/react-start' {\n  interface Register {\n    ssr: true\n    router: Awaited<ReturnType<typeof getRouter>>\n  }\n}`
  ]
  const config = getConfig({ routesDirectory: join(dir, "src/routes"), generatedRouteTree: join(dir, "src/routeTree.gen.ts"), routeTreeFileFooter, disableLogging: true }, dir)
  await new Generator({ config, root: dir }).run()
}

/**
 * What twoslash gets for a sample: the page's folder as `baseUrl`; the route tree when the
 * sample is (or imports) a file route; and the sample itself, as a file beside the one the
 * page's app has at its path (`src/lib/.auth.ts` for `src/lib/auth.ts`), so that only the
 * sample is twoslash's own and the others' files stay as written.
 */
const prelude = (app: PageApp, self: string, code: string): Array<string> => {
  const slug = posix.basename(app.dir)
  const files = new Map(app.files).set(self, code)
  const routed = [self, ...imported(self, code, files)].some((path) => isFileRoute(files.get(path)!))
  return [
    `// @baseUrl: ${app.dir}`,
    ...(routed ? [`// @filename: ${slug}/routes.ts`, `import "./src/routeTree.gen"`] : []),
    `// @filename: ${slug}/${posix.dirname(self)}/.${posix.basename(self)}`,
    "// ---cut---"
  ]
}

type Plugin = ReturnType<typeof ecTwoSlash>
type PreprocessCode = NonNullable<NonNullable<Plugin["hooks"]>["preprocessCode"]>
type PostprocessRenderedBlock = NonNullable<NonNullable<Plugin["hooks"]>["postprocessRenderedBlock"]>

/**
 * The Expressive Code plugin that checks and renders the samples, and the Astro integration
 * that reports on them; `folder` is where the pages' apps are written (once per process:
 * expressive-code-twoslash keeps the first twoslash it makes).
 */
export const samples = (folder = defaultFolder): { plugin: Plugin; integration: AstroIntegration } => {
  const apps = new Map<string, Promise<PageApp>>()
  const twoslash = ecTwoSlash({
    // Every ts/tsx block of a page is a sample, not only those marked `twoslash`.
    instanceConfigs: { twoslash: { explicitTrigger: /(?:)/, languages: ["ts", "tsx"] } },
    tsConfigPath: join(repoRoot, "tsconfig.json"),
    twoslashOptions: { vfsRoot: folder, compilerOptions, tsModule: retainingTs() }
  })
  const checked: Array<string> = []
  const failed: Array<string> = []
  // One sample at a time: Expressive Code renders a page's blocks (and Astro its pages) at
  // once, and twoslash's programs and rendered hovers held all together outgrow the heap.
  // Each waits for the event loop's next turn: twoslash runs seconds at a stretch, and the dev
  // server's module runner gives up on a request left unanswered for a minute.
  let queue: Promise<unknown> = Promise.resolve()
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve))
  const oneAtATime = <A>(task: () => Promise<A>): Promise<A> => {
    const turn = () => nextTurn().then(task)
    const run = queue.then(turn, turn)
    queue = run.catch(() => undefined)
    return run
  }

  const preprocessCode: PreprocessCode = async (context) => {
    const { codeBlock } = context
    const page = codeBlock.parentDocument?.sourceFilePath
    if (!page || !pageSlug(page) || !["ts", "tsx"].includes(codeBlock.language)) return
    // Expressive Code's frames plugin has taken the file name as the frame's title, unless it
    // has a `$` (`src/routes/api/auth/$.ts`): then it is done here.
    const header = fileHeader.exec(codeBlock.getLine(0)?.text ?? "")?.[1]
    if (header && codeBlock.props.title === undefined) {
      codeBlock.props.title = header
      codeBlock.deleteLine(0)
    }
    const self = codeBlock.props.title ?? `sample.${codeBlock.language}`
    const where = `${posix.relative(repoRoot, page)} (${self})`
    try {
      await oneAtATime(async () => {
        codeBlock.insertLines(0, prelude(await pageApp(apps, folder, page), self, codeBlock.code))
        await twoslash.hooks!.preprocessCode!(context)
      })
      checked.push(where)
    } catch (error) {
      failed.push(`${where}: ${error instanceof Error ? error.message : String(error)}`)
      throw error
    }
  }

  // The search index leaves the hovers' types out: a page is found by its own words.
  const postprocessRenderedBlock: PostprocessRenderedBlock = ({ renderData }) => {
    const visit = (node: { type: string; properties?: Record<string, unknown>; children?: Array<unknown> }) => {
      const className = node.properties?.className
      if (Array.isArray(className) && className.includes("twoslash-popup-container")) node.properties!["data-pagefind-ignore"] = ""
      for (const child of node.children ?? []) visit(child as typeof node)
    }
    visit(renderData.blockAst)
  }

  return {
    plugin: { ...twoslash, hooks: { ...twoslash.hooks, preprocessCode, postprocessRenderedBlock } },
    integration: {
      name: "fusion-auth-samples",
      hooks: {
        "astro:build:done": ({ logger }) => {
          if (failed.length > 0) throw new Error(`${failed.length} sample(s) do not compile:\n${failed.join("\n")}`)
          logger.info(`${checked.length} TypeScript samples type-checked by twoslash`)
        }
      }
    }
  }
}
