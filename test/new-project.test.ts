/**
 * A newcomer's TanStack Start app, built from the docs alone and driven from outside: the
 * packed library and exactly the packages the docs' install line names, in a fresh folder;
 * every file copied out of docs/getting-started.md and README's "Use it" (none is written
 * here); `vite dev` on the embedded default database; sign-up, the two pages, the `fusion-auth`
 * bin beside the running app (token, deactivation, revocation), a restart on the same folder,
 * and a second app refused on it; then its production build (`npm run build`, `vite preview`)
 * on a folder an earlier release wrote, upgraded by the build, or, shipped without the
 * package, by the bin.
 */
import { assert, describe, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SECRET } from "./support/auth.ts"
import { type Earlier, writeEarlier } from "./support/earlier.ts"
import { freePort } from "./support/net.ts"
import {
  type App,
  docFiles,
  eventually,
  installLine,
  projectEnv,
  repoRoot,
  run,
  section,
  startApp,
  viteBypassLock,
  writeFiles
} from "./support/new-project.ts"
import { pack } from "./support/pack.ts"

const ours = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string; devDependencies: Record<string, string> }
const gettingStarted = readFileSync(join(repoRoot, "docs", "getting-started.md"), "utf8")
const useIt = section(readFileSync(join(repoRoot, "README.md"), "utf8"), "Use it")

const email = "ada@example.com"
const invalidToken = `Bearer error="invalid_token"`

describe("a new project made from the docs", () => {
  it("installs, runs on the embedded database, is administered by the bin beside it, and its production build upgrades an earlier release's folder", async () => {
    const started = performance.now()
    const timings: Array<string> = []
    const lap = (() => {
      let last = started
      return (step: string) => {
        const now = performance.now()
        timings.push(`${step} ${((now - last) / 1000).toFixed(1)}s`)
        last = now
      }
    })()

    // The files: README's and the guide's must agree wherever both show one.
    const files = [...docFiles(useIt, "README.md"), ...docFiles(gettingStarted, "docs/getting-started.md")]
    const byPath = new Map<string, string>()
    for (const file of files) {
      const seen = byPath.get(file.path)
      assert.isTrue(seen === undefined || seen === file.text, `README.md and docs/getting-started.md show different ${file.path}`)
      byPath.set(file.path, file.text)
    }
    for (const path of ["package.json", "tsconfig.json", "vite.config.ts", "src/lib/auth.ts", "src/routes/api/auth/$.ts", "src/server.ts", "src/router.tsx", "src/routes/__root.tsx", "src/routes/dashboard.tsx", "src/routes/settings.tsx", "src/routes/login.tsx", "src/lib/middleware.ts", "src/routes/api/me.ts"]) {
      assert.isTrue(byPath.has(path), `the docs show no ${path}`)
    }
    const install = installLine(gettingStarted)
    assert.deepStrictEqual(installLine(useIt), install, "README's install line and the guide's differ")
    assert.include(install.dependencies, "fusion-auth")
    // `typescript` as a new project gets it today: the native compiler, which this repository locks as `typescript-native`.
    const lockedAs = (name: string) => (name === "typescript" ? ours.devDependencies["typescript-native"]?.replace(/^npm:typescript@/, "") : ours.devDependencies[name])
    const pinned = (names: ReadonlyArray<string>) =>
      Object.fromEntries(names.filter((n) => n !== "fusion-auth").map((name) => {
        assert.isString(lockedAs(name), `the docs install ${name}, which this repository does not pin`)
        return [name, lockedAs(name)!]
      }))

    const dir = mkdtempSync(join(tmpdir(), "fusion-auth-new-project-"))
    const apps: Array<App> = []
    let packedRepo: string | undefined
    try {
      const { tarball, repo } = pack(dir)
      packedRepo = repo
      lap("pack")

      const { dependencies: _d, devDependencies: _dd, ...fromDocs } = JSON.parse(byPath.get("package.json")!) as Record<string, unknown>
      writeFileSync(join(dir, "package.json"), JSON.stringify({
        name: "my-app",
        version: "1.0.0",
        private: true,
        ...fromDocs,
        dependencies: { "fusion-auth": `file:${tarball}`, ...pinned(install.dependencies) },
        // `node`: this machine's Node is older than the app needs, so the project brings its own.
        devDependencies: { ...pinned(install.devDependencies), node: ours.devDependencies.node },
        allowScripts: { node: true }
      }, null, 2))
      const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: dir,
        env: { ...process.env, npm_config_yes: "true" },
        timeout: 300_000
      })
      assert.strictEqual(installed.code, 0, `npm install failed:\n${installed.stderr}`)
      writeFiles(dir, files.filter((f) => f.path !== "package.json"))
      lap("install")

      // Better Auth's two settings in .env, as the guide has it (its vite.config.ts loads them); no DATABASE_URL: the embedded default.
      const secret = randomBytes(32).toString("base64")
      const start = async (flags: ReadonlyArray<string> = [], { command = "dev", secret: theSecret = secret }: { command?: "dev" | "preview"; secret?: string } = {}) => {
        const port = await freePort()
        writeFileSync(join(dir, ".env"), `BETTER_AUTH_SECRET=${theSecret}\nBETTER_AUTH_URL=http://127.0.0.1:${port}\n`)
        const app = await startApp(dir, port, projectEnv(dir, { DATABASE_URL: "" }), flags, command)
        apps.push(app)
        return app
      }
      const cli = (args: ReadonlyArray<string>) =>
        run(join(dir, "node_modules", ".bin", "fusion-auth"), args, { cwd: dir, env: projectEnv(dir, { DATABASE_URL: "" }), timeout: 60_000 })
      const get = (app: App, path: string, headers: Record<string, string> = {}) =>
        fetch(`${app.url}${path}`, { headers, redirect: "manual", signal: AbortSignal.timeout(60_000) })

      let app = await start()
      lap("first start")

      // Sign up through Better Auth's API, mounted by the docs' server route.
      const signUp = await fetch(`${app.url}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: app.url },
        body: JSON.stringify({ email, password: "correct horse battery staple", name: "Ada" }),
        signal: AbortSignal.timeout(120_000)
      })
      assert.strictEqual(signUp.status, 200, `sign-up answered ${signUp.status}:\n${app.output()}`)
      const cookie = signUp.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
      assert.include(cookie, "session_token=")
      const asBrowser = { cookie }

      const page = async (path: string, headers: Record<string, string>) => {
        const response = await get(app, path, headers)
        return { status: response.status, location: response.headers.get("location"), challenge: response.headers.get("www-authenticate"), html: await response.text() }
      }
      const signedIn = async (path: string, headers: Record<string, string>, what: string) => {
        const { status, html } = await page(path, headers)
        assert.strictEqual(status, 200, `${what}: GET ${path} answered ${status}:\n${app.output().slice(-4000)}`)
        assert.include(html, email, `${what}: GET ${path} does not show the user`)
      }
      const toLogin = async (headers: Record<string, string>, what: string) => {
        const { status, location } = await page("/settings", headers)
        assert.deepStrictEqual({ status, location }, { status: 302, location: "/login?redirect=%2Fsettings" }, what)
      }
      const refused = async (headers: Record<string, string>, what: string) => {
        const { status, challenge } = await page("/settings", headers)
        assert.deepStrictEqual({ status, challenge }, { status: 401, challenge: invalidToken }, `${what}:\n${app.output().slice(-4000)}`)
      }

      await signedIn("/dashboard", asBrowser, "cookie")
      await signedIn("/settings", asBrowser, "cookie")
      const anonymous = await page("/dashboard", {})
      assert.strictEqual(anonymous.status, 200)
      assert.notInclude(anonymous.html, email)
      await toLogin({}, "no cookie")
      const login = await page("/login?redirect=%2Fsettings", {})
      assert.strictEqual(login.status, 200)
      // Configured as the docs say, Better Auth has nothing to warn about (no base URL, a weak secret, …).
      assert.notMatch(app.output(), /\[Better Auth\]/, app.output())
      // Nor fusion-auth: on the newest releases the docs' install line brings, its native cookie path is on.
      assert.notMatch(app.output(), /fusion-auth:/, app.output())

      // The embedded default: the data and the owner's lock in .data/fusion-auth under the project.
      const lock = join(dir, ".data", "fusion-auth", "fusion-auth.lock")
      assert.isTrue(existsSync(lock), "no lock in .data/fusion-auth")
      assert.strictEqual((JSON.parse(readFileSync(lock, "utf8")) as { pid: unknown }).pid, app.pid)

      // The docs' tsconfig.json type-checks the app (the route tree is Vite's, written at start).
      const tsc = await run(join(dir, "node_modules", ".bin", "node"), [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
        cwd: dir,
        env: projectEnv(dir, {}),
        timeout: 120_000
      })
      assert.strictEqual(tsc.code, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`)
      const typescript = JSON.parse(readFileSync(join(dir, "node_modules", "typescript", "package.json"), "utf8")) as { version: string }
      assert.strictEqual(typescript.version.split(".")[0], /\d+/.exec(lockedAs("typescript")!)![0], "the compiler a new project gets")
      lap("pages and tsc")

      // The bin, beside the running app, through its embedded server.
      const listed = await cli(["--json", "users", "list"])
      assert.strictEqual(listed.code, 0, `users list: ${listed.stderr}`)
      const [user, ...others] = JSON.parse(listed.stdout) as Array<{ id: string; email: string; deactivatedAt: string | null }>
      assert.deepStrictEqual({ email: user?.email, deactivatedAt: user?.deactivatedAt, others: others.length }, { email, deactivatedAt: null, others: 0 })

      const created = await cli(["--json", "tokens", "create", "--user", email, "--name", "ci"])
      assert.strictEqual(created.code, 0, `tokens create: ${created.stderr}`)
      const token = JSON.parse(created.stdout) as { token: string; id: string; userId: string; name: string; hint: string }
      assert.match(token.token, /^sk_live_/)
      assert.deepStrictEqual({ userId: token.userId, name: token.name }, { userId: user!.id, name: "ci" })
      assert.isTrue(token.token.endsWith(token.hint.slice(-4)))
      const asScript = { authorization: `Bearer ${token.token}` }
      await signedIn("/settings", asScript, "token")
      // The request middleware of fusion-auth/tanstack-start on the guide's /api/me.
      const me = async (headers: Record<string, string>) => {
        const response = await get(app, "/api/me", headers)
        return { status: response.status, challenge: response.headers.get("www-authenticate"), body: await response.json() as unknown }
      }
      assert.deepStrictEqual(await me(asScript), { status: 200, challenge: null, body: { email, via: "token" } })
      assert.deepStrictEqual(await me(asBrowser), { status: 200, challenge: null, body: { email, via: "cookie" } })
      assert.deepStrictEqual(await me({}), { status: 401, challenge: "Bearer", body: { error: "unauthorized", reason: "Anonymous" } })

      const deactivated = await cli(["--json", "users", "deactivate", email])
      assert.strictEqual(deactivated.code, 0, `users deactivate: ${deactivated.stderr}`)
      assert.isString((JSON.parse(deactivated.stdout) as { deactivatedAt: unknown }).deactivatedAt)
      await refused(asScript, "token of a deactivated user")
      await toLogin(asBrowser, "cookie of a deactivated user")

      const reactivated = await cli(["--json", "users", "reactivate", email])
      assert.strictEqual(reactivated.code, 0, `users reactivate: ${reactivated.stderr}`)
      await signedIn("/settings", asScript, "token after reactivation")
      await signedIn("/settings", asBrowser, "cookie after reactivation")

      const revoked = await cli(["--json", "tokens", "revoke", token.id])
      assert.strictEqual(revoked.code, 0, `tokens revoke: ${revoked.stderr}`)
      await refused(asScript, "revoked token")
      assert.deepStrictEqual(await me(asScript), { status: 401, challenge: invalidToken, body: { error: "invalid_token", reason: "InvalidToken" } })
      await signedIn("/settings", asBrowser, "cookie after the token's revocation")
      lap("bin")

      // Stopped and started again on the same folder: the same cookie, the same user.
      await app.stop()
      app = await start()
      await signedIn("/settings", asBrowser, "cookie after a restart")
      const again = await cli(["--json", "users", "list"])
      assert.strictEqual(again.code, 0, `users list after a restart: ${again.stderr}`)
      assert.deepStrictEqual((JSON.parse(again.stdout) as Array<{ email: string }>).map((u) => u.email), [email])
      lap("restart")

      // A second app on the same folder refuses, naming the owner's process (past Vite's own check).
      const second = await start(viteBypassLock(dir))
      const first: number | "no answer" = await fetch(`${second.url}/dashboard`, { redirect: "manual", signal: AbortSignal.timeout(60_000) }).then(
        (response) => response.status,
        () => "no answer" as const
      )
      assert.isTrue(first === "no answer" || first >= 500, `the second app's first request answered ${first}`)
      const naming = () => second.output().split("\n").filter((line) => line.includes(`process ${app.pid}`))
      assert.isTrue(await eventually(() => naming().length > 0, 10_000), `the second app's output does not name process ${app.pid}:\n${second.output().slice(-4000)}`)
      await new Promise((resolve) => setTimeout(resolve, 500)) // anything more it prints about that one request
      assert.strictEqual(naming().length, 1, `lines naming process ${app.pid}:\n${naming().join("\n")}`)
      assert.match(naming()[0]!, /in use by process \d+/)
      await second.stop()
      await signedIn("/settings", asBrowser, "the owner, after the second app's refusal")
      lap("second app")

      // The production build (`npm run build`, served by `vite preview` as the guide says) on a
      // folder an earlier release wrote: the build bundles fusion-auth, and the upgrade's tools
      // (PGlite 0.5, pg_dump) are found in the fusion-auth package the app installed.
      await app.stop()
      const built = await run("npm", ["run", "build"], { cwd: dir, env: projectEnv(dir, {}), timeout: 300_000 })
      assert.strictEqual(built.code, 0, `npm run build:\n${built.stdout}${built.stderr}`)
      const data = join(dir, ".data", "fusion-auth")
      const earlierFolder = async () => {
        rmSync(data, { recursive: true, force: true })
        const earlier = await writeEarlier(data, { notes: 0 })
        assert.strictEqual(readFileSync(join(data, "PG_VERSION"), "utf8").trim(), "18")
        return earlier
      }
      const preview = () => start([], { command: "preview", secret: SECRET })
      const asBefore = async (earlier: Earlier, what: string) => {
        const ada = { cookie: earlier.ada.cookie }
        const adaToken = { authorization: `Bearer ${earlier.ada.token}` }
        await signedIn("/settings", ada, `${what}: Ada's cookie`)
        await signedIn("/settings", adaToken, `${what}: Ada's token`)
        assert.deepStrictEqual(await me(adaToken), { status: 200, challenge: null, body: { email, via: "token" } })
        await refused({ authorization: `Bearer ${earlier.ada.revoked}` }, `${what}: Ada's revoked token`)
        await refused({ authorization: `Bearer ${earlier.bob.token}` }, `${what}: deactivated Bob's token`)
        await toLogin({ cookie: earlier.bob.cookie }, `${what}: deactivated Bob's cookie`)
      }
      let earlier = await earlierFolder()
      app = await preview()
      await asBefore(earlier, "the production build")
      assert.match(app.output(), /the embedded database in .* is upgraded/)
      assert.isTrue(existsSync(join(data, "pgdata-18", "PG_VERSION")), "the earlier files are not kept")
      lap("production build, upgrade")

      // A build shipped without the package (as Nitro's .output/ can be), or beside another
      // release of it: refused with what to do, the folder untouched; the bin does it, and the
      // build then answers as before.
      await app.stop()
      earlier = await earlierFolder()
      const shipped = join(dir, "node_modules", "fusion-auth")
      const refusedWith = async (what: string, expected: string) => {
        app = await preview()
        const first = await get(app, "/settings", { cookie: earlier.ada.cookie })
        assert.isAtLeast(first.status, 500, `${what}: the build answered ${first.status}`)
        assert.isTrue(await eventually(() => app.output().includes(`npx fusion-auth@${ours.version} users list`), 10_000), app.output().slice(-4000))
        assert.include(app.output(), expected, what)
        assert.notMatch(app.output(), /upgrading the embedded database/, `${what}: a refused upgrade announced itself`)
        await app.stop()
      }
      renameSync(shipped, `${shipped}.away`)
      try {
        await refusedWith("without the package", "no fusion-auth package is installed")
      } finally {
        renameSync(`${shipped}.away`, shipped)
      }
      const manifest = join(shipped, "package.json")
      const asInstalled = readFileSync(manifest, "utf8")
      writeFileSync(manifest, JSON.stringify({ ...JSON.parse(asInstalled) as object, version: "0.0.1-other" }))
      try {
        await refusedWith("beside another release", `is 0.0.1-other, not the bundle's own ${ours.version}`)
      } finally {
        writeFileSync(manifest, asInstalled)
      }
      assert.deepStrictEqual(readdirSync(data).filter((name) => name.startsWith("pgdata")), [], "the refused upgrade touched the folder")
      const upgraded = await cli(["--json", "users", "list"])
      assert.strictEqual(upgraded.code, 0, `users list on the earlier folder: ${upgraded.stderr}`)
      assert.deepStrictEqual((JSON.parse(upgraded.stdout) as Array<{ email: string }>).map((u) => u.email).sort(), [email, "bob@example.com"])
      app = await preview()
      await asBefore(earlier, "the production build after the bin's upgrade")
      assert.notMatch(app.output(), /upgrading the embedded database/)
      lap("production build, upgraded by the bin")
    } finally {
      for (const app of apps) await app.stop()
      rmSync(dir, { recursive: true, force: true })
      if (packedRepo !== undefined) rmSync(packedRepo, { recursive: true, force: true })
      console.log(`new project: ${timings.join(", ")}; total ${((performance.now() - started) / 1000).toFixed(1)}s`)
    }
  }, 600_000)
})
