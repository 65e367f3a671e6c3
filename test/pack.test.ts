/**
 * The published package works for a fresh project: `npm pack`, install the tarball with its
 * peers into an empty folder, import it, type-check against it, and run a whole sign-up →
 * token → session round trip on the embedded database (no DATABASE_URL, no server).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> }
const env = { ...process.env, DATABASE_URL: "", npm_config_yes: "true" }
const npm = (args: ReadonlyArray<string>, cwd: string) =>
  execFileSync("npm", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

const consumer = `
import { betterAuth } from "better-auth"
import { Redacted } from "effect"
import { ApiToken, betterAuthDatabase, closeEmbedded, createAuthSession, fusionAuth, safeRedirectPath, type Session } from "fusion-auth"

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
await closeEmbedded()
`

describe("npm pack", () => {
  it("gives a tarball a fresh project can install, import, type-check and run on the embedded database", () => {
    const dir = mkdtempSync(join(tmpdir(), "fusion-auth-pack-"))
    try {
      const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", dir], root)) as Array<{ filename: string; files: Array<{ path: string }> }>
      const files = packed!.files.map((f) => f.path)
      assert.include(files, "dist/index.js")
      assert.include(files, "dist/index.d.ts")
      assert.notInclude(files.join("\n"), "test/")
      const peers = ["effect", "better-auth", "@effect/sql-pg", "pg", "typescript", "@types/node", "node"] // and what the app itself uses
      writeFileSync(join(dir, "package.json"), JSON.stringify({
        name: "fresh-app",
        private: true,
        type: "module",
        dependencies: {
          "fusion-auth": `file:./${packed!.filename}`,
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
    }
  }, 300_000)
})
