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
 * The in-process suites whose behaviour depends on Better Auth, run again on the lowest
 * Better Auth of the peer range (`better-auth-lowest`, an npm alias of better-auth@1.7.0,
 * with the better-call it was released with) and, when a maintainer asks for it
 * (`npm run test:better-auth-next`), on the newest published 1.7.x. Suites that start other
 * processes, or load a plugin package that imports `better-auth` itself, run on the locked
 * version only.
 */
const onLowest = [
  "test/Authorization.test.ts",
  "test/SignedCookie.test.ts",
  "test/app-author.test.ts",
  "test/bearer-plugin.test.ts",
  "test/native-probe.test.ts",
  "test/one-tap.test.ts",
  "test/choke-point.test.ts",
  "test/cookie-equivalence.test.ts",
  "test/cookie-handover.test.ts",
  "test/email-links.test.ts",
  "test/magic-link.test.ts",
  "test/device-authorization.test.ts",
  "test/two-factor.test.ts",
  "test/verification-codes.test.ts",
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

/** A project running `onLowest` with `better-auth` (and its own better-call) taken from the npm alias `alias`. */
const onBetterAuth = (alias: string) => {
  const dir = fileURLToPath(new URL(`./node_modules/${alias}/`, import.meta.url))
  const { version } = createRequire(import.meta.url)(join(dir, "package.json")) as { version: string }
  const betterCall = createRequire(join(dir, "package.json")).resolve("better-call").replace(/\.cjs$/, ".mjs")
  return {
    extends: true as const,
    resolve: {
      alias: [
        { find: /^better-auth(?=\/|$)/, replacement: alias },
        { find: /^better-call$/, replacement: betterCall }
      ]
    },
    test: { name: `better-auth ${version}`, include: onLowest }
  }
}

/** `scripts/better-auth-next.sh` installs the newest 1.7.x as `better-auth-next` (not saved) and names it here. */
const next = process.env.FUSION_AUTH_BETTER_AUTH_NEXT

export default defineConfig({
  resolve: { alias: library },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    globalSetup: ["test/support/pglite-initdb.ts"],
    projects: [
      {
        extends: true,
        test: { name: "better-auth locked", include: ["test/**/*.test.ts", "examples/start/test/**/*.test.ts"] }
      },
      onBetterAuth("better-auth-lowest"),
      ...(next === undefined ? [] : [{ ...onBetterAuth(next), test: { ...onBetterAuth(next).test, name: `better-auth next (${onBetterAuth(next).test.name})` } }])
    ]
  }
})
