/**
 * The `fusion-auth` bin, run for real in a subprocess against a real database: what an
 * operator types, what they see, and the exit code a script gets.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Effect, Redacted } from "effect"
import { CliError } from "effect/cli"
import { ConnectionError, SqlError, SqlSyntaxError, UnknownError } from "effect/sql/SqlError"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { describeError, describeFailure, Refused, UNREACHABLE, UsageError } from "../src/cli/CliErrors.ts"
import { UserNotFound } from "../src/core/Errors.ts"
import { ApiToken } from "../src/effect.ts"
import { createAuthSession } from "../src/index.ts"
import { makeAuth, migrate, signUp } from "./support/auth.ts"
import { fusionAuth, type Run } from "./support/cli.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"

/** One clear line, no stack trace. */
const oneLine = (run: Run) => {
  const lines = run.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, run.stderr)
  assert.match(lines[0]!, /^fusion-auth: /)
  assert.notMatch(run.stderr, /\n\s+at /)
  return lines[0]!
}

describe("fusion-auth --help", () => {
  const commands = ["", "migrate", "tokens", "tokens create", "tokens list", "tokens revoke", "users", "users deactivate", "users reactivate", "users list", "scan-pattern"]
  it.each(commands)("fusion-auth %s --help describes the command", async (line) => {
    const command = line === "" ? [] : line.split(" ")
    const run = await fusionAuth([...command, "--help"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "USAGE")
    assert.include(run.stdout, `fusion-auth${command.length ? " " + command.join(" ") : ""}`)
  })
})

describe("fusion-auth on the embedded database (--data-dir)", () => {
  it("migrates idempotently and answers from the folder, which survives between runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fusion-auth-cli-"))
    try {
      const dataDir = join(dir, "nested", "db")
      for (let i = 0; i < 2; i++) assert.strictEqual((await fusionAuth(["--data-dir", dataDir, "migrate"])).code, 0)
      const users = await fusionAuth(["--data-dir", dataDir, "--json", "users", "list"])
      assert.strictEqual(users.code, 0, users.stderr)
      assert.deepStrictEqual(JSON.parse(users.stdout), [])
      const missing = await fusionAuth(["--data-dir", dataDir, "tokens", "list", "--user", "nobody@example.com"])
      assert.strictEqual(missing.code, 1)
      assert.strictEqual(oneLine(missing), "fusion-auth: No user nobody@example.com")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

for (const backend of sqlBackends) {
  describe(`fusion-auth on ${backend.name} (DATABASE_URL)`, () => {
    let db: TestDatabase
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
    const env = () => ({ DATABASE_URL: db.url, FUSION_AUTH_SCOPES: "read,write" })
    const cli = (args: ReadonlyArray<string>, stdin?: string) => fusionAuth(args, { env: env(), ...(stdin ? { stdin } : {}) })

    beforeAll(async () => {
      db = await backend.make()
      setup = makeAuth(db.url)
      assert.strictEqual((await cli(["migrate"])).code, 0)
      await migrate(setup.auth, { url: db.url })
      app = createAuthSession(setup.auth, { database: { url: db.url }, tokens: { scopes: ["read", "write"] } })
    })
    afterAll(async () => {
      await app.dispose()
      await setup.pool.end()
      await db.close()
    })

    it("creates a token printed once, lists it without the secret, revokes it by id and by leaked value", async () => {
      const email = `ops.${backend.name}@example.com`
      const { userId } = await signUp(setup.auth, email)
      const created = await cli(["tokens", "create", "--user", email, "--name", "deploy", "--scope", "read", "--expires-in", "30d"])
      assert.strictEqual(created.code, 0, created.stderr)
      const token = created.stdout.trim()
      assert.isDefined(ApiToken.parse(token), "stdout is exactly the token")
      assert.notInclude(created.stderr, token)
      const bearer = new Headers({ authorization: `Bearer ${token}` })
      const session = await app.getSession(bearer)
      assert.strictEqual(session!.user.id, userId)
      assert.deepStrictEqual(session!.scopes, ["read"])

      const listed = await cli(["--json", "tokens", "list", "--user", email])
      const [info] = JSON.parse(listed.stdout) as Array<{ id: string; hint: string; scopes: Array<string>; expiresAt: string }>
      assert.notInclude(listed.stdout, token)
      assert.strictEqual(info!.hint, `sk_live_…${token.slice(-4)}`)
      assert.deepStrictEqual(info!.scopes, ["read"])
      assert.approximately(Date.parse(info!.expiresAt) - Date.now(), 30 * 86_400_000, 120_000)
      const text = await cli(["tokens", "list", "--user", email])
      assert.include(text.stdout, info!.id)
      assert.include(text.stdout, "live")

      const revoked = await cli(["tokens", "revoke", info!.id])
      assert.strictEqual(revoked.code, 0, revoked.stderr)
      assert.include(revoked.stdout, `Revoked ${info!.id}`)
      assert.isNull(await app.getSession(bearer))

      // --json: the shape docs/cli.md shows, the token beside what `tokens list` shows of it.
      const json = await cli(["--json", "tokens", "create", "--user", email, "--name", "ci", "--scope", "read"])
      assert.strictEqual(json.code, 0, json.stderr)
      const printed = JSON.parse(json.stdout) as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(printed), [
        "token", "id", "userId", "name", "hint", "scopes", "createdAt", "expiresAt", "lastUsedAt", "revokedAt", "replacedBy", "rateLimit", "organizationId", "removed"
      ])
      assert.deepInclude(printed, { userId, name: "ci", scopes: ["read"], expiresAt: null, lastUsedAt: null, revokedAt: null, replacedBy: null })
      assert.strictEqual((await app.getSession(new Headers({ authorization: `Bearer ${String(printed.token)}` })))!.user.id, userId)

      const leaked = (await cli(["tokens", "create", "--user", email, "--name", "leaky"])).stdout.trim()
      const report = await cli(["--json", "tokens", "revoke", "--leaked"], `found in a public gist:\nTOKEN=${leaked}\n`)
      assert.strictEqual(report.code, 0, report.stderr)
      assert.strictEqual((JSON.parse(report.stdout) as { revoked: Array<{ userId: string }> }).revoked[0]!.userId, userId)
      assert.isNull(await app.getSession(new Headers({ authorization: `Bearer ${leaked}` })))
      const events = await app.audit.list({ userId })
      assert.deepStrictEqual(events.slice(0, 2).map((e) => [e.action, e.actorId]), [["token.revoked_leaked", "cli"], ["token.created", "cli"]])
    })

    it("the app's prefix: --prefix or FUSION_AUTH_TOKEN_PREFIX mints with it; --leaked finds it and the legacy prefix", async () => {
      const email = `prefix.${backend.name}@example.com`
      const { userId } = await signUp(setup.auth, email)
      const acme = ApiToken.format("acme_", ["sk_live_"])
      const moved = createAuthSession(setup.auth, { database: { url: db.url }, tokens: { scopes: ["read"], prefix: "acme_", legacyPrefixes: ["sk_live_"] } })
      try {
        const viaFlag = await cli(["--prefix", "acme_", "tokens", "create", "--user", email, "--name", "flag"])
        assert.strictEqual(viaFlag.code, 0, viaFlag.stderr)
        const viaEnv = await fusionAuth(["tokens", "create", "--user", email, "--name", "env"], { env: { ...env(), FUSION_AUTH_TOKEN_PREFIX: "acme_" } })
        const legacy = (await cli(["tokens", "create", "--user", email, "--name", "legacy"])).stdout.trim()
        const [flag, fromEnv] = [viaFlag.stdout.trim(), viaEnv.stdout.trim()]
        for (const token of [flag, fromEnv]) assert.isDefined(acme.parse(token), token.slice(0, 8))
        for (const token of [flag, fromEnv, legacy]) {
          assert.strictEqual((await moved.getSession(new Headers({ authorization: `Bearer ${token}` })))!.user.id, userId)
        }
        // The default-prefix app does not read acme_ tokens at all.
        assert.isNull(await app.getSession(new Headers({ authorization: `Bearer ${flag}` })))

        const report = await fusionAuth(["--json", "tokens", "revoke", "--leaked"], {
          env: { ...env(), FUSION_AUTH_TOKEN_PREFIX: "acme_", FUSION_AUTH_TOKEN_LEGACY_PREFIXES: "sk_live_" },
          stdin: `new ${flag}\nold ${legacy}\n`
        })
        assert.strictEqual(report.code, 0, report.stderr)
        assert.strictEqual((JSON.parse(report.stdout) as { found: number }).found, 2)
        for (const token of [flag, legacy]) assert.isNull(await moved.getSession(new Headers({ authorization: `Bearer ${token}` })))
        assert.isNotNull(await moved.getSession(new Headers({ authorization: `Bearer ${fromEnv}` })))
      } finally {
        await moved.dispose()
      }
    })

    it("reads its settings from the environment, an empty one as unset", async () => {
      const email = `settings.${backend.name}@example.com`
      const { userId } = await signUp(setup.auth, email)
      const run = await fusionAuth(["tokens", "create", "--user", email, "--name", "empty", "--scope", "read"], {
        env: { ...env(), FUSION_AUTH_TOKEN_PREFIX: "", FUSION_AUTH_TOKEN_LEGACY_PREFIXES: "", FUSION_AUTH_TOKEN_SECRET: "" }
      })
      assert.strictEqual(run.code, 0, run.stderr)
      const token = run.stdout.trim()
      assert.isDefined(ApiToken.parse(token), "the default prefix")
      assert.strictEqual((await app.getSession(new Headers({ authorization: `Bearer ${token}` })))!.user.id, userId, "no secret")
      const noScopes = await fusionAuth(["tokens", "create", "--user", email, "--name", "x", "--scope", "read"], {
        env: { ...env(), FUSION_AUTH_SCOPES: "" }
      })
      assert.strictEqual(noScopes.code, 1)
      assert.match(oneLine(noScopes), /Invalid scopes: unknown scope "read"/)
    })

    it("holds to the app's token limits given in FUSION_AUTH_MAX_LIFETIME and FUSION_AUTH_MAX_LIVE_TOKENS", async () => {
      const email = `limits.${backend.name}@example.com`
      await signUp(setup.auth, email)
      const limited = (args: ReadonlyArray<string>, limits = { FUSION_AUTH_MAX_LIFETIME: "30d", FUSION_AUTH_MAX_LIVE_TOKENS: "2" }) =>
        fusionAuth(["--json", "tokens", "create", "--user", email, ...args], { env: { ...env(), ...limits } })
      const before = Date.now()
      const unasked = await limited(["--name", "unasked"])
      assert.strictEqual(unasked.code, 0, unasked.stderr)
      const { expiresAt } = JSON.parse(unasked.stdout) as { expiresAt: string }
      // Asked for no expiry, it gets the maximum.
      assert.closeTo(new Date(expiresAt).getTime() - before, 30 * 86_400_000, 60_000)
      const tooLong = await limited(["--name", "long", "--expires-in", "260w"])
      assert.strictEqual(tooLong.code, 1)
      assert.match(oneLine(tooLong), /expiresAt/)
      assert.strictEqual(tooLong.stdout, "", "no token minted")
      assert.strictEqual((await limited(["--name", "second", "--expires-in", "1d"])).code, 0)
      const third = await limited(["--name", "third", "--expires-in", "1d"])
      assert.strictEqual(third.code, 1)
      assert.match(oneLine(third), /already holds 2 live tokens, the most allowed/)
      const [badLifetime, badCount] = await Promise.all([
        limited(["--name", "x"], { FUSION_AUTH_MAX_LIFETIME: "a month", FUSION_AUTH_MAX_LIVE_TOKENS: "2" }),
        limited(["--name", "x"], { FUSION_AUTH_MAX_LIFETIME: "30d", FUSION_AUTH_MAX_LIVE_TOKENS: "many" })
      ])
      assert.deepStrictEqual([badLifetime.code, oneLine(badLifetime)], [2, `fusion-auth: FUSION_AUTH_MAX_LIFETIME: bad duration "a month": use a number and m, h, d or w, e.g. 30d`])
      assert.deepStrictEqual([badCount.code, oneLine(badCount)], [2, `fusion-auth: FUSION_AUTH_MAX_LIVE_TOKENS must be a whole number, not "many"`])
    })

    it("deactivates and reactivates by email, and lists the deactivated", async () => {
      const email = `Someone.${backend.name}@Example.com`
      const { cookie } = await signUp(setup.auth, email.toLowerCase())
      assert.strictEqual((await cli(["users", "deactivate", email])).code, 0)
      assert.isNull(await app.getSession(new Headers({ cookie })))
      const listed = JSON.parse((await cli(["--json", "users", "list", "--deactivated"])).stdout) as Array<{ email: string }>
      assert.include(listed.map((u) => u.email), email.toLowerCase())
      const reactivated = await cli(["users", "reactivate", email])
      assert.strictEqual(reactivated.code, 0)
      assert.include(reactivated.stdout, "active")
      assert.notInclude(reactivated.stderr, "Still locked out")
      assert.isNotNull(await app.getSession(new Headers({ cookie })))
    })

    it("a user the directory disabled (SCIM's deprovisionedAt) is listed as such, and reactivating lifts only the app's deactivation, saying so", async () => {
      const email = `directory.${backend.name}@example.com`
      const { userId, cookie } = await signUp(setup.auth, email)
      await setup.pool.query(`update "user" set "deprovisionedAt" = now() where "id" = $1`, [userId])
      const listed = await cli(["users", "list", "--deactivated"])
      assert.match(listed.stdout, new RegExp(`${email.replaceAll(".", "\\.")}  DEACTIVATED BY THE DIRECTORY \\(SCIM\\) \\d{4}-`))
      assert.strictEqual((await cli(["users", "deactivate", email])).code, 0)
      const reactivated = await cli(["users", "reactivate", email])
      assert.strictEqual(reactivated.code, 0)
      assert.match(reactivated.stdout, /  DEACTIVATED BY THE DIRECTORY \(SCIM\) \d{4}-/)
      assert.notMatch(reactivated.stdout, /DEACTIVATED \d{4}-/, "the app's deactivation is lifted")
      assert.include(reactivated.stderr, "Still locked out: the directory (SCIM) has them inactive")
      assert.isNull(await app.getSession(new Headers({ cookie })))
      const json = JSON.parse((await cli(["--json", "users", "list", "--deactivated"])).stdout) as Array<{ email: string; lockedOut: unknown; deprovisionedAt: unknown }>
      assert.deepInclude(json.find((u) => u.email === email), { lockedOut: "deactivated" })
      assert.isString(json.find((u) => u.email === email)?.deprovisionedAt)
    })

    it("refuses with one line and a non-zero exit: unknown user, unknown token, bad duration, nothing on stdin", async () => {
      const ops = `ops.${backend.name}@example.com`
      // Every refusal at once (none writes), each its own process.
      const [unknownUser, unknownToken, badDuration, bads, boths, nothing, unknown, unknownScope] = await Promise.all([
        cli(["users", "deactivate", "ghost@example.com"]),
        cli(["tokens", "revoke", "no-such-id"]),
        cli(["tokens", "create", "--user", "ghost@example.com", "--name", "x", "--expires-in", "soon"]),
        Promise.all(["1.5d", "30", "2x", "1000000d"].map(async (bad) => [bad, await cli(["tokens", "create", "--user", ops, "--name", "x", "--expires-in", bad])] as const)),
        Promise.all([["no-such-id", "--leaked"], []].map(async (args) => [args, await cli(["tokens", "revoke", ...args], "sk_live_whatever")] as const)),
        cli(["tokens", "revoke", "--leaked"], "no secrets here, just sk_live_lookalike"),
        cli(["tokens", "revoke", "--leaked"], `${Redacted.value(ApiToken.generate())}\n`),
        cli(["tokens", "create", "--user", ops, "--name", "x", "--scope", "admin"])
      ])
      assert.strictEqual(unknownUser.code, 1)
      assert.strictEqual(oneLine(unknownUser), "fusion-auth: No user ghost@example.com")
      assert.strictEqual(unknownToken.code, 1)
      assert.strictEqual(oneLine(unknownToken), "fusion-auth: No token no-such-id")
      assert.strictEqual(badDuration.code, 2)
      assert.match(oneLine(badDuration), /bad duration "soon"/)
      for (const [bad, run] of bads) {
        assert.strictEqual(run.code, 2, bad)
        assert.strictEqual(oneLine(run), `fusion-auth: bad duration "${bad}": use a number and m, h, d or w, e.g. 30d`)
        assert.strictEqual(run.stdout, "", "no token minted")
      }
      for (const [args, both] of boths) {
        assert.strictEqual(both.code, 2, args.join(" "))
        assert.strictEqual(oneLine(both), "fusion-auth: give one of a token id, --organization, or --leaked (with the token on stdin)")
      }
      assert.strictEqual(nothing.code, 1)
      assert.strictEqual(oneLine(nothing), "fusion-auth: no fusion-auth token found on stdin")
      assert.strictEqual(unknown.code, 1)
      assert.strictEqual(oneLine(unknown), "fusion-auth: none of the tokens found is in this database")
      assert.strictEqual(unknownScope.code, 1)
      assert.match(oneLine(unknownScope), /Invalid scopes: unknown scope "admin"/)
    })
  })
}

describe("fusion-auth with the database down", () => {
  it("says so in one line and exits 1", async () => {
    const run = await fusionAuth(["users", "list"], { env: { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" } })
    assert.strictEqual(run.code, 1)
    assert.match(oneLine(run), /cannot reach the database/)
  })
})

describe("fusion-auth with a flag it cannot parse", () => {
  // Parsed before the database is opened: one line on stderr, nothing on stdout (not the help page), exit code 2.
  it.each([
    [["--json", "tokens", "list", "--organization"], /^fusion-auth: Missing value for flag --organization/],
    [["tokens", "create", "--user", "a@example.com", "--name", "ci", "--organization", "x"], /^fusion-auth: Unrecognized flag: --organization/]
  ] as const)("%j", async (args, line) => {
    const run = await fusionAuth([...args], { env: { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" } })
    assert.strictEqual(run.code, 2, run.stderr)
    assert.strictEqual(run.stdout, "")
    assert.match(oneLine(run), line)
  })
})

describe("fusion-auth with a setting that breaks the rules", () => {
  // Read before the database is opened: the one line names the setting's problem, exit code 2.
  const down = { DATABASE_URL: "postgres://postgres@127.0.0.1:9/none" }
  it.each([
    ["FUSION_AUTH_SCOPES", "read,Not A Scope", ["users", "list"], /^fusion-auth: scope "Not A Scope" must match/],
    ["FUSION_AUTH_TOKEN_PREFIX", "acme", ["users", "list"], /^fusion-auth: token prefix "acme" /],
    ["FUSION_AUTH_TOKEN_LEGACY_PREFIXES", "sk_live_", ["scan-pattern"], /^fusion-auth: token prefix "sk_live_" is given twice$/]
  ] as const)("%s=%s exits 2 with one line", async (name, value, args, line) => {
    const run = await fusionAuth(args, { env: { ...down, [name]: value } })
    assert.strictEqual(run.code, 2, run.stderr)
    assert.match(oneLine(run), line)
  })
})

describe("describeFailure: one line and an exit code, by the failure's tag", () => {
  const connect = (reason: SqlError["reason"]) => new SqlError({ reason })

  it("a connection failure of the database, failed or died with: unreachable, exit 1", () => {
    const refused = connect(new ConnectionError({ cause: new Error("connect ECONNREFUSED 127.0.0.1:9"), message: "PgConnection: Failed to connect", operation: "connect" }))
    assert.deepStrictEqual(describeFailure(Cause.fail(refused)), { line: UNREACHABLE, code: 1 })
    assert.deepStrictEqual(describeFailure(Cause.die(refused)), { line: UNREACHABLE, code: 1 })
    // The server refused the connection: the same line, with its words.
    const noDatabase = connect(new UnknownError({ cause: new Error('database "x" does not exist'), message: "PgConnection: Failed to connect", operation: "connect" }))
    assert.deepStrictEqual(describeFailure(Cause.fail(noDatabase)), { line: `${UNREACHABLE}: database "x" does not exist`, code: 1 })
  })

  it("any other SqlError: its own message, exit 1 (never the unreachable line)", () => {
    const syntax = connect(new SqlSyntaxError({ cause: new Error("syntax error at or near"), message: "syntax error at or near \"connect\"", operation: "execute" }))
    assert.deepStrictEqual(describeFailure(Cause.fail(syntax)), { line: 'syntax error at or near "connect"', code: 1 })
  })

  it("a usage mistake and a configuration error: exit 2; a refusal: exit 1", () => {
    assert.deepStrictEqual(describeFailure(Cause.fail(new UsageError({ message: "bad duration" }))), { line: "bad duration", code: 2 })
    assert.deepStrictEqual(describeFailure(Cause.fail(new Refused({ message: "nothing on stdin" }))), { line: "nothing on stdin", code: 1 })
    const configError = Effect.runSync(Effect.flip(Config.Number("PORT").parse(ConfigProvider.fromUnknown({ PORT: "eighty" }))))
    const described = describeFailure(Cause.fail(configError))
    assert.strictEqual(described.code, 2)
    // Its message spans lines; the CLI prints it as one.
    assert.include(configError.message, "\n")
    assert.strictEqual(described.line, configError.message.replace(/\s*\n\s*/g, " "))
    assert.include(described.line, `["PORT"]`)
  })

  it("effect/cli's parse errors: exit 2; help asked for: exit 0 and nothing printed", () => {
    const unknown = new CliError.UnrecognizedOption({ option: "--nope", suggestions: [] })
    assert.deepStrictEqual(describeFailure(Cause.fail(unknown)), { line: unknown.message, code: 2 })
    assert.deepStrictEqual(describeFailure(Cause.fail(new CliError.ShowHelp({ commandPath: ["fusion-auth"], errors: [] }))), { line: "", code: 0 })
    const withErrors = new CliError.ShowHelp({ commandPath: ["fusion-auth"], errors: [new CliError.MissingOption({ option: "user" })] })
    assert.deepStrictEqual(describeFailure(Cause.fail(withErrors)), { line: withErrors.errors[0]!.message, code: 2 })
  })

  it("a domain error: its message, exit 1", () => {
    assert.deepStrictEqual(describeFailure(Cause.fail(new UserNotFound({ userId: "ghost@example.com" }))), { line: "No user ghost@example.com", code: 1 })
    class Elsewhere extends Error {
      readonly _tag = "EmbeddedDatabaseInUse"
    }
    assert.deepStrictEqual(describeError(new Elsewhere("fusion-auth: the folder is another process's")), { line: "the folder is another process's", code: 1 })
  })

  it("a defect: its message without the library's prefix, exit 1; an interruption: exit 1", () => {
    assert.deepStrictEqual(describeFailure(Cause.die(new Error("fusion-auth: something broke"))), { line: "something broke", code: 1 })
    assert.deepStrictEqual(describeFailure(Cause.die("a string")), { line: "a string", code: 1 })
    assert.deepStrictEqual(describeFailure(Cause.die(new Error("first\n  second"))), { line: "first second", code: 1 })
    // A driver outside effect/sql (Better Auth's pool in `migrate`) says so by its socket error's code.
    const socket = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" })
    assert.deepStrictEqual(describeFailure(Cause.die(socket)), { line: UNREACHABLE, code: 1 })
    assert.deepStrictEqual(describeFailure(Cause.interrupt()), { line: "interrupted", code: 1 })
  })
})

describe("the bin on a Node older than its engines", () => {
  it("says so in one line and exits 2, before anything else loads", async () => {
    const older = "data:text/javascript,Object.defineProperty(process.versions,'node',{value:'20.20.2'})"
    const { code, stdout, stderr } = await fusionAuth(["users", "list"], { env: { NODE_OPTIONS: `--import ${older}` } })
    assert.deepStrictEqual({ code, stdout, stderr }, { code: 2, stdout: "", stderr: "fusion-auth: needs Node 22.19 or later; this is Node 20.20.2\n" })
  })
})
