/**
 * The published package works for a fresh project: `npm pack`, install the tarball with its
 * peers into an empty folder, import it, type-check against it, and run a whole sign-up →
 * token → session round trip on the embedded database (no DATABASE_URL, no server).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { promisify } from "node:util"

import { pack, root } from "./support/pack.ts"

const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  engines: { node: string }
  devDependencies: Record<string, string>
  peerDependencies: Record<string, string>
}
// Each consumer on its own embedded folder (its working directory's), even when the suite's environment names one.
const { FUSION_AUTH_DATA_DIR: _dataDir, ...inherited } = process.env
const env = { ...inherited, DATABASE_URL: "", npm_config_yes: "true" }
/** A command's stdout; rejects with its stderr when it exits non-zero. Async, so both ends install at once. */
const run = async (file: string, args: ReadonlyArray<string>, cwd: string, more: Record<string, string> = {}) =>
  (await promisify(execFile)(file, args, { cwd, env: { ...env, ...more }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })).stdout

const consumer = `
import { betterAuth } from "better-auth"
import { Effect, Layer, Schema } from "effect"
import { Redacted } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { ApiToken, authLayer, CurrentSession, errorResponse, requireScope, safeRedirectPath, SessionResolver } from "fusion-auth/effect"
import { Authentication, AuthenticationLayer, ForbiddenResponse, requireScope as guard } from "fusion-auth/http-api"
import { MemoryDatabase, SessionResolver as TestResolver, signUpFixture, Stores } from "fusion-auth/testing"
import { betterAuthDatabase, createAuthSession, fusionAuth, InsufficientScope, type Session } from "fusion-auth"
import { createAuthClient } from "better-auth/client"
import { fusionAuthClient } from "fusion-auth/client"

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
// fusion-auth/client: Better Auth's client with the plugin, typed from the server plugin, through auth.handler.
const authClient = createAuthClient({
  baseURL: "http://localhost:3000",
  plugins: [fusionAuthClient()],
  fetchOptions: {
    customFetchImpl: (input, init) => auth.handler(new Request(input, init)),
    headers: { cookie, origin: "http://localhost:3000" }
  }
})
const viaClient = await authClient.fusionAuth.tokens.create({ name: "from the client", scopes: [] })
const clientToken: string | undefined = viaClient.data?.token
const viaToken = await getSession(new Headers({ authorization: "Bearer " + Redacted.value(token) }))
await users.deactivate(response.user.id)
const afterDeactivate = await getSession(new Headers({ authorization: "Bearer " + Redacted.value(token) }))
const deactivatedAt: Date | null | undefined = viaCookie?.user.deactivatedAt
console.log(JSON.stringify({
  cookie: viaCookie?.user.email, cookieSession: viaCookie?.session !== null,
  token: viaToken?.user.email, tokenSession: viaToken?.session,
  afterDeactivate, deactivatedAt: deactivatedAt ?? null,
  parses: ApiToken.parse(Redacted.value(token)) !== undefined,
  clientToken: clientToken !== undefined && ApiToken.parse(clientToken) !== undefined,
  redirect: safeRedirectPath("//evil.com")
}))

// fusion-auth/testing: a fixture on the real runtime, and the memory layers in an Effect program.
const fixture = await signUpFixture(auth, { tokens }, { email: "fixture@example.com" })
const fixtureViaToken = (await getSession(fixture.headers.bearer()))?.user.email
const memory = await Effect.runPromise(
  MemoryDatabase.addUser({ id: "m1", email: "m@example.com", name: "M", emailVerified: true, createdAt: new Date(), updatedAt: new Date() })
    .pipe(Effect.map((u) => u.email), Effect.provide(Stores.layerMemory.pipe(Layer.provide(Stores.settings()))))
)
// fusion-auth/effect: requireScope on a fixed session, errorResponse of its refusal.
const fixed: Session = { user: { id: "u", email: "u@example.com", name: "U", emailVerified: true, createdAt: new Date(), updatedAt: new Date() }, session: null, scopes: [] }
const refused = await Effect.runPromise(Effect.flip(requireScope("write").pipe(Effect.provide(CurrentSession.layerTest(fixed)))))
const status = errorResponse(refused as InsufficientScope).status
// fusion-auth/http-api: an API behind Authentication, over the live resolver (authLayer), called as fetch.
class Me extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("me", "/me", { success: Schema.String, error: ForbiddenResponse }))
  .middleware(Authentication) {}
class Api extends HttpApi.make("api").add(Me) {}
const MeLive = HttpApiBuilder.group(Api, "me", (h) =>
  Effect.succeed(h.handle("me", () => guard("read").pipe(Effect.map((s) => s.user.email), Effect.catchTag("Forbidden", () => CurrentSession.useSync((s) => s.user.email))))))
const { handler, dispose: closeApi } = HttpRouter.toWebHandler(
  HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }).pipe(
    Layer.provide(MeLive), Layer.provide(AuthenticationLayer), Layer.provide(authLayer(auth)), Layer.provide(HttpServer.layerServices)
  ),
  { disableLogger: true }
)
const api = await handler(new Request("http://localhost/me", { headers: fixture.headers.bearer() }))
const apiBody = await api.json()
const apiRefused = await handler(new Request("http://localhost/me", { headers: { authorization: "Bearer " + Redacted.value(token) } }))
const openapi = JSON.stringify(await (await handler(new Request("http://localhost/openapi.json"))).json())
await closeApi()
const testResolver: typeof SessionResolver = TestResolver
console.log(JSON.stringify({
  fixtureViaToken, memory, status, api: [api.status, apiBody], apiRefused: apiRefused.status, bearerScheme: openapi.includes('"scheme":"Bearer"'), sameResolver: testResolver === SessionResolver
}))
await dispose()
`

/** The lowest version a peer range allows: ranges are written `^x.y.z`, and this says so if one is not. */
const lowest = (name: string, range: string) => {
  const match = /^\^(\d+\.\d+\.\d+)$/.exec(range)
  assert.isNotNull(match, `peer ${name}'s range ${range} is not of the form ^x.y.z`)
  return match![1]!
}

/** The lowest Node `engines` allows: written `>=x.y` (or `>=x.y.z`), and this says so if it is not. */
const lowestNode = () => {
  const match = /^>=(\d+\.\d+)(\.\d+)?$/.exec(ours.engines.node)
  assert.isNotNull(match, `engines.node ${ours.engines.node} is not of the form >=x.y`)
  return `${match![1]}${match![2] ?? ".0"}`
}

/**
 * The script's own tools, as this repository locks them: not peers. TypeScript differs by end:
 * the line with a JS API (what the docs' tooling needs) at the lowest, the native compiler
 * (`typescript-native`, what `npm install -D typescript` gives a new project) at the newest.
 */
const tools = (typescript: string) => ({ typescript, "@types/node": ours.devDependencies["@types/node"]! })
const newestTypeScript = ours.devDependencies["typescript-native"]!.replace(/^npm:typescript@/, "")

/**
 * Both ends of every peer range (optional ones included): the lowest version each allows, on
 * the lowest Node `engines` allows (the `node` package, as the repository runs its own), and the
 * newest the registry has inside each range, on the Node this repository runs. Either way npm
 * warns of no peer, `npm ls` is clean, and the consumer script type-checks and runs, bin too.
 */
const ends = {
  "the lowest versions its peer ranges allow, on the lowest Node its engines allow": {
    ...Object.fromEntries(Object.entries(ours.peerDependencies).map(([name, range]) => [name, lowest(name, range)])),
    node: lowestNode(),
    ...tools(ours.devDependencies.typescript!)
  },
  "the newest versions its peer ranges allow": { ...ours.peerDependencies, node: ours.devDependencies.node!, ...tools(newestTypeScript) }
}

describe("npm pack", () => it.concurrent.each(Object.entries(ends))("gives a tarball a fresh project installs cleanly with %s, and imports, type-checks and runs on the embedded database", async (_end, versions) => {
  const dir = mkdtempSync(join(tmpdir(), "fusion-auth-pack-"))
  let repo: string | undefined
  try {
    const packed = pack(dir, env)
    repo = packed.repo
    const files = packed.files
    assert.include(files, "dist/index.js")
    assert.include(files, "dist/index.d.ts")
    assert.include(files, "dist/client.js")
    assert.notInclude(files.join("\n"), "test/")
    // `npm run build` (prepack) leaves the bin runnable in the repository too: `npx fusion-auth` there.
    assert.notStrictEqual(statSync(join(packed.repo, "dist/cli/main.js")).mode & 0o111, 0)
    assert.include(await run(join(packed.repo, "dist/cli/main.js"), ["users", "--help"], dir), "fusion-auth users")
    writeFileSync(join(dir, "package.json"), JSON.stringify({
      name: "fresh-app",
      private: true,
      type: "module",
      dependencies: {
        "fusion-auth": `file:${packed.tarball}`,
        ...versions
      },
      allowScripts: { node: true }
    }))
    writeFileSync(join(dir, "main.ts"), consumer)
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "es2023", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"], lib: ["es2023", "dom"] },
      files: ["main.ts"]
    }))
    const install = await promisify(execFile)("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=warn"], { cwd: dir, env, encoding: "utf8" })
      .then(({ stderr }) => ({ status: 0, stderr }), (error: { code?: number; stderr?: string }) => ({ status: error.code ?? 1, stderr: error.stderr ?? String(error) }))
    assert.strictEqual(install.status, 0, install.stderr)
    assert.notMatch(install.stderr, /ERESOLVE|peer dep/i, "npm warned of a peer")
    await run("npm", ["ls", "--all"], dir) // rejects on an invalid, missing or extraneous package
    // This end's compiler (the native one at the newest end) type-checks the consumer against the tarball's declarations.
    assert.include(await run(join(dir, "node_modules/.bin/tsc"), ["-v"], dir), `Version ${/\d+/.exec(versions.typescript)![0]}.`)
    await run(join(dir, "node_modules/.bin/tsc"), ["-p", "."], dir)
    const node = join(dir, "node_modules/.bin/node")
    const ranOn = (await run(node, ["--version"], dir)).trim()
    if (/^\d/.test(versions.node)) assert.strictEqual(ranOn, `v${versions.node}`) // the lowest end's Node, pinned exactly
    const out = await run(node, ["main.ts"], dir)
    // The bin by its shebang (`env node`), with the project's own Node first on the PATH, as npx runs it.
    const help = await run(join(dir, "node_modules/.bin/fusion-auth"), ["tokens", "--help"], dir, { PATH: `${join(dir, "node_modules/.bin")}${delimiter}${process.env.PATH}` })
    assert.include(help, "fusion-auth tokens")
    const lines = out.trim().split("\n")
    assert.deepStrictEqual(JSON.parse(lines.at(-1)!), {
      fixtureViaToken: "fixture@example.com",
      memory: "m@example.com",
      status: 403,
      api: [200, "fixture@example.com"],
      apiRefused: 401, // that token's user was deactivated above
      bearerScheme: true,
      sameResolver: true
    })
    const result = JSON.parse(lines.at(-2)!)
    assert.deepStrictEqual(result, {
      cookie: "fresh@example.com",
      cookieSession: true,
      token: "fresh@example.com",
      tokenSession: null,
      afterDeactivate: null,
      deactivatedAt: null,
      parses: true,
      clientToken: true,
      redirect: "/"
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
    if (repo !== undefined) rmSync(repo, { recursive: true, force: true })
  }
}, 420_000))
