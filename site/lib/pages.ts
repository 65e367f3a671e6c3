/**
 * The site's pages are the repository's own Markdown, read where it lies: README.md is the
 * home page and each docs/*.md a page named after its file. A page's title is its `# heading`.
 * Links are written for GitHub (`sessions.md#the-database`, `docs/cli.md`) and rewritten here
 * to the site's paths, so they work in both places; a ```mermaid block becomes a diagram that
 * the browser draws (src/components/MarkdownContent.astro).
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { Code, Heading, Link } from "mdast"
import type { MdastPluginDefinition } from "satteri"

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))

/** The sidebar's order; a page of docs/ not named here comes after these, by name. */
const order = ["sessions", "getting-started", "api-tokens", "cli", "observability", "performance", "reliability", "design"]

/** The slug of a repository file that is a page: `index` for README.md, `x` for docs/x.md. */
export const pageSlug = (file: string): string | undefined => {
  const path = relative(repoRoot, file)
  if (path === "README.md") return "index"
  return /^docs\/([\w-]+)\.md$/.exec(path)?.[1]
}

/** The slugs of docs/*.md, in the sidebar's order. */
export const docsSlugs = (): Array<string> => {
  const rank = (slug: string) => (order.includes(slug) ? order.indexOf(slug) : order.length)
  return readdirSync(resolve(repoRoot, "docs"))
    .filter((file) => file.endsWith(".md"))
    .map((file) => file.slice(0, -".md".length))
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

/** A page's title: its first `# heading`. */
export const pageTitle = (file: string): string | undefined => /^# (.+)$/m.exec(readFileSync(file, "utf8"))?.[1]?.trim()

const sitePath = (slug: string) => (slug === "index" ? "/" : `/${slug}/`)

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("\n", "&#10;")

/** The Sätteri (Markdown) plugin for the repository's pages; other pages pass through. */
export const repoMarkdown: MdastPluginDefinition = {
  name: "fusion-auth-repo-markdown",
  before(_root, ctx) {
    const slug = ctx.fileURL && pageSlug(fileURLToPath(ctx.fileURL))
    // starlight-links-validator files a page's headings under its slug, which it would
    // otherwise derive from the file's place under src/content/docs.
    const astro = ctx.data.astro as { frontmatter?: Record<string, unknown> } | undefined
    if (slug && slug !== "index" && astro?.frontmatter) astro.frontmatter.slug ??= slug
  },
  heading(node: Heading, ctx) {
    // The page's `# title` is Starlight's own heading already.
    if (node.depth === 1 && ctx.indexOf(node) === 0 && ctx.fileURL && pageSlug(fileURLToPath(ctx.fileURL))) ctx.removeNode(node)
  },
  link(node: Link, ctx) {
    const relativeLink = /^([^#?:/][^#?:]*\.md)(#.*)?$/.exec(node.url)
    if (!relativeLink || !ctx.fileURL) return
    const slug = pageSlug(resolve(dirname(fileURLToPath(ctx.fileURL)), relativeLink[1]!))
    if (slug) ctx.setProperty(node, "url", sitePath(slug) + (relativeLink[2] ?? ""))
  },
  code(node: Code, ctx) {
    if (node.lang !== "mermaid") return
    ctx.replaceNode(node, { type: "html", value: `<div class="mermaid" data-content="${escapeHtml(node.value)}">Loading diagram...</div>` })
  }
}
