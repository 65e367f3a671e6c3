import { docsSchema } from "@astrojs/starlight/schema"
import { defineCollection } from "astro:content"
import { glob } from "astro/loaders"
import { pageSlug, pageTitle, repoRoot } from "../lib/pages.ts"

/**
 * Starlight's pages: the repository's README.md and docs/*.md where they are (each titled by
 * its `# heading`), and the API reference that starlight-typedoc writes to src/content/docs/api.
 */
const pages = glob({
  base: repoRoot,
  pattern: ["README.md", "docs/*.md", "site/src/content/docs/**/*.md"],
  // README.md is `index` (the home page), docs/x.md is `x`; the API pages keep their place under
  // src/content/docs, as Starlight's own loader names them (lower case, no `/index`).
  generateId: ({ entry }) =>
    pageSlug(`${repoRoot}/${entry}`) ?? entry.replace(/^site\/src\/content\/docs\//, "").replace(/(\/index)?\.md$/, "").toLowerCase()
})

export const collections = {
  docs: defineCollection({
    loader: {
      name: "fusion-auth-pages",
      load: (context) =>
        pages.load({
          ...context,
          parseData: (entry) =>
            context.parseData({ ...entry, data: { title: entry.filePath && pageTitle(entry.filePath), ...entry.data } })
        })
    },
    schema: docsSchema()
  })
}
