import { satteri } from "@astrojs/markdown-satteri"
import starlight from "@astrojs/starlight"
import { defineConfig } from "astro/config"
import starlightLinksValidator from "starlight-links-validator"
import starlightTypeDoc from "starlight-typedoc"
import { apiSidebar, entryPoints } from "./lib/api.ts"
import { docsSlugs, repoMarkdown, repoRoot } from "./lib/pages.ts"
import { samples } from "./lib/samples.ts"

const checkedSamples = samples()

export default defineConfig({
  markdown: { processor: satteri({ mdastPlugins: [repoMarkdown] }) },
  integrations: [
    starlight({
      title: "fusion-auth",
      // README.md and docs/*.md are the pages (src/content.config.ts), where they lie.
      markdown: { processedDirs: [repoRoot] },
      expressiveCode: { plugins: [checkedSamples.plugin] },
      components: { MarkdownContent: "./src/components/MarkdownContent.astro" },
      sidebar: [{ label: "Overview", link: "/" }, ...docsSlugs(), apiSidebar],
      plugins: [
        starlightLinksValidator(),
        starlightTypeDoc({
          entryPoints,
          tsconfig: `${repoRoot}/tsconfig.build.json`,
          // A page per entry point (a folder's page is its index), without what Effect's classes inherit.
          typeDoc: { outputFileStrategy: "modules", entryFileName: "index", excludeExternals: true, skipErrorChecking: true }
        })
      ]
    }),
    checkedSamples.integration
  ]
})
