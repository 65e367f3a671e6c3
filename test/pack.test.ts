/**
 * The published package works for a fresh project: `npm pack`, install the tarball with its
 * peers into an empty folder, import it, type-check against it, and run a whole sign-up →
 * token → session round trip on the embedded database (no DATABASE_URL, no server).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

import { pack, root } from "./support/pack.ts"

const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> }
const env = { ...process.env, DATABASE_URL: "", npm_config_yes: "true" }
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  execFileSync("npm", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const consumer = `
import { betterAuth } from "better-auth"
import { Redacted } from "effect"
import { ApiToken, safeRedirectPath } from "fusion-auth/effect"
import { betterAuthDatabase, createAuthSession, fusionAuth, type Session } from "fusion-auth"

const auth = betterAuth({
  database: betterAuthDatabase(),
  secret: "consumer-secret-consumer-secret-0123",
  baseURL: "http://localhost:3000",
  telemetry: { enabled: false },
  emailAndPassword: { enabled: true },
  plugins: [fusionAuth()]
})
const { getSession, tokens, users, migrate, dispose } = createAuthSession(auth)
await migrate()
await migrate()
const { headers, response } = await auth.api.signUpEmail({
  body: { email: "fresh@example.com", password: "correct horse battery", name: "Fresh" },
  returnHeaders: true
})
const cookie = headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
const viaCookie: Session<typeof auth.$Infer.Session.user, typeof auth.$Infer.Session.session> | null =
  await getSession(new Headers({ cookie }))
const { token } = await tokens.create({ userId: response.user.id, name: "ci" })
const viaToken = await getSession(new Headers({ authorization: "Bearer " + Redacted.value(token) }))
await users.deactivate(response.user.id)
const afterDeactivate = await getSession(new Headers({ authorization: "Bearer " + Redacted.value(token) }))
const deactivatedAt: Date | null | undefined = viaCookie?.user.deactivatedAt
console.log(JSON.stringify({
  cookie: viaCookie?.user.email, cookieSession: viaCookie?.session !== null,
  token: viaToken?.user.email, tokenSession: viaToken?.session,
  afterDeactivate, deactivatedAt: deactivatedAt ?? null,
  parses: ApiToken.parse(Redacted.value(token)) !== undefined,
  redirect: safeRedirectPath("//evil.com")
}))
await dispose()
`

describe("npm pack", () => {
  it("gives a tarball a fresh project can install, import, type-check and run on the embedded database", () => {
    const dir = mkdtempSync(join(tmpdir(), "fusion-auth-pack-"))
    let repo: string | undefined
    try {
      const packed = pack(dir, env)
      repo = packed.repo
      const files = packed.files
      assert.include(files, "dist/index.js")
      assert.include(files, "dist/index.d.ts")
      assert.notInclude(files.join("\n"), "test/")
      // `npm run build` (prepack) leaves the bin runnable in the repository too: `npx fusion-auth` there.
      assert.notStrictEqual(statSync(join(packed.repo, "dist/cli/main.js")).mode & 0o111, 0)
      assert.include(execFileSync(join(packed.repo, "dist/cli/main.js"), ["users", "--help"], { cwd: dir, env, encoding: "utf8" }), "fusion-auth users")
      // The peers README's install line names (no pg: fusion-auth brings it), and what this script itself uses.
      const peers = ["effect", "better-auth", "@effect/sql-pg", "typescript", "@types/node", "node"]
      writeFileSync(join(dir, "package.json"), JSON.stringify({
        name: "fresh-app",
        private: true,
        type: "module",
        dependencies: {
          "fusion-auth": `file:${packed.tarball}`,
          ...Object.fromEntries(peers.map((name) => [name, ours.devDependencies[name]!]))
        },
        allowScripts: { node: true }
      }))
      writeFileSync(join(dir, "main.ts"), consumer)
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
        compilerOptions: { target: "es2023", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], lib: ["es2023", "dom"] },
        files: ["main.ts"]
      }))
      npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], dir)
      execFileSync(join(dir, "node_modules/.bin/tsc"), ["-p", "."], { cwd: dir, env, encoding: "utf8" })
      const out = execFileSync(join(dir, "node_modules/.bin/node"), ["main.ts"], { cwd: dir, env, encoding: "utf8" })
      const help = execFileSync(join(dir, "node_modules/.bin/fusion-auth"), ["tokens", "--help"], { cwd: dir, env, encoding: "utf8" })
      assert.include(help, "fusion-auth tokens")
      const result = JSON.parse(out.trim().split("\n").at(-1)!)
      assert.deepStrictEqual(result, {
        cookie: "fresh@example.com",
        cookieSession: true,
        token: "fresh@example.com",
        tokenSession: null,
        afterDeactivate: null,
        deactivatedAt: null,
        parses: true,
        redirect: "/"
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
      if (repo !== undefined) rmSync(repo, { recursive: true, force: true })
    }
  }, 300_000)
})
