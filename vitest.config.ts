import { createRequire } from "node:module"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// Tests import the library as users do, by name, and always get this repository's source.
const library = [
  { find: /^fusion-auth$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
  { find: /^fusion-auth\/(.+)$/, replacement: fileURLToPath(new URL("./src/", import.meta.url)) + "$1.ts" }
]

/**
 * The lowest Better Auth of the peer range (`better-auth-lowest`, an npm alias of
 * better-auth@1.7.0, with the better-call it was released with), for the in-process suites
 * whose behaviour depends on Better Auth. Suites that start other processes, or load a
 * plugin package that imports `better-auth` itself, run on the locked version only.
 */
const lowest = fileURLToPath(new URL("./node_modules/better-auth-lowest/", import.meta.url))
const lowestBetterCall = createRequire(join(lowest, "package.json")).resolve("better-call").replace(/\.cjs$/, ".mjs")
const onLowest = [
  "test/Authorization.test.ts",
  "test/SignedCookie.test.ts",
  "test/app-author.test.ts",
  "test/bearer-plugin.test.ts",
  "test/native-probe.test.ts",
  "test/choke-point.test.ts",
  "test/cookie-equivalence.test.ts",
  "test/cookie-handover.test.ts",
  "test/failures.test.ts",
  "test/fixture.test.ts",
  "test/http-api.test.ts",
  "test/redis.test.ts",
  "test/tanstack-start.test.ts",
  "test/TokenProduct.contract.test.ts",
  "test/TokenStore.contract.test.ts",
  "test/reliability/forged-cookies.test.ts",
  "test/reliability/hostile-headers.corpus.test.ts",
  "test/reliability/hostile-headers.property.test.ts",
  "test/reliability/secret-hygiene.test.ts"
]

export default defineConfig({
  resolve: { alias: library },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "better-auth locked", include: ["test/**/*.test.ts", "examples/start/test/**/*.test.ts"] }
      },
      {
        extends: true,
        resolve: {
          alias: [
            { find: /^better-auth(?=\/|$)/, replacement: "better-auth-lowest" },
            { find: /^better-call$/, replacement: lowestBetterCall }
          ]
        },
        test: { name: "better-auth 1.7.0", include: onLowest }
      }
    ]
  }
})
