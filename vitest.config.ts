import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // Tests import the library as users do, by name, and always get this repository's source.
  resolve: {
    alias: [
      { find: /^fusion-auth$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      { find: /^fusion-auth\/(.+)$/, replacement: fileURLToPath(new URL("./src/", import.meta.url)) + "$1.ts" }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/start/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks"
  }
})
