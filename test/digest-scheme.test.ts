/**
 * The token digest scheme is fingerprinted in the database (issue 20): the app's own
 * `migrate()` records the fingerprint of its `tokenSecret`, and a process with another secret
 * (the CLI without `FUSION_AUTH_TOKEN_SECRET`, a second runtime) refuses to mint, rotate or
 * revoke by value, with one line; by id and lists still work. A database migrated by the
 * previous release (no record) mints and revokes as before. On PGlite and real Postgres.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { ApiToken, Stores, TokenStore } from "../src/effect.ts"
import { createAuthSession, migrate, TokenSecretMismatch } from "../src/index.ts"
import { MemoryDatabase } from "../src/testing.ts"
import { fingerprint } from "../src/core/TokenSecret.ts"
import { makeAuth, signUp } from "./support/auth.ts"
import { fusionAuth, type Run } from "./support/cli.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"

const SECRET = "app-token-secret-app-token-secret-0123"
const OTHER = "another-secret-another-secret-456789"
const NEW = "rotated-secret-rotated-secret-abcdef0"
const MISMATCH = `fusion-auth: ${new TokenSecretMismatch().message}`

/** One line on stderr, nothing on stdout, exit 1: the refusal of a process with another secret. */
const refused = (run: Run) => {
  assert.strictEqual(run.code, 1, run.stderr)
  assert.strictEqual(run.stdout, "")
  assert.strictEqual(run.stderr.trim(), MISMATCH)
  for (const secret of [SECRET, fingerprint(SECRET), fingerprint(undefined)]) assert.notInclude(run.stderr, secret)
}

describe("fingerprint", () => {
  it("names the scheme and never the secret", () => {
    assert.strictEqual(fingerprint(undefined), "sha256")
    const fp = fingerprint(SECRET)
    assert.match(fp, /^hmac-sha256:[0-9a-f]{16}$/)
    assert.strictEqual(fingerprint(Redacted.make(SECRET)), fp, "a Redacted secret is the same secret")
    assert.notStrictEqual(fingerprint(OTHER), fp)
    assert.notInclude(fp, SECRET)
    assert.notInclude(fp, Buffer.from(SECRET).toString("hex").slice(0, 16))
    // It is no token's digest: a token under the secret digests to something else entirely.
    const token = ApiToken.generate()
    assert.notInclude(ApiToken.digest(token, Redacted.make(SECRET)), fp.slice("hmac-sha256:".length))
  })

  it.effect("the memory backend records none: any secret mints and revokes by value", () =>
    Effect.gen(function*() {
      const store = yield* TokenStore
      const user = yield* MemoryDatabase.addUser({
        id: "u1", email: "u1@example.com", name: "U", emailVerified: false, image: null,
        createdAt: new Date(0), updatedAt: new Date(0), deactivatedAt: null
      })
      const { token } = yield* store.create({ userId: user.id, name: "ci" })
      const revoked = yield* store.revokeLeaked(ApiToken.parse(Redacted.value(token))!)
      assert.isNotNull(revoked.revokedAt)
    }).pipe(Effect.provide(Stores.layerMemory), Effect.provide(Stores.settings({ tokenSecret: OTHER }))))
})

for (const backend of sqlBackends) {
  describe(`digest scheme on ${backend.name}`, () => {
    let db: TestDatabase
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
    let n = 0
    const env = (secret?: string) => ({ DATABASE_URL: db.url, ...(secret === undefined ? {} : { FUSION_AUTH_TOKEN_SECRET: secret }) })
    const cli = (args: ReadonlyArray<string>, options: { secret?: string; stdin?: string } = {}) =>
      fusionAuth(args, { env: env(options.secret), ...(options.stdin === undefined ? {} : { stdin: options.stdin }) })
    const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` })
    const recorded = async () =>
      (await setup.pool.query<{ fingerprint: string; savedAt: Date }>(`select "fingerprint", "savedAt" from "fusionAuthDigestScheme"`)).rows
    const newUser = async (label: string) => {
      const email = `${label}${++n}.${backend.name}@example.com`
      return { email, ...(await signUp(setup.auth, email)) }
    }

    beforeAll(async () => {
      db = await backend.make()
      setup = makeAuth(db.url)
      app = createAuthSession(setup.auth, { database: { url: db.url }, tokenSecret: SECRET })
      await app.migrate()
    }, 120_000)
    afterAll(async () => {
      await app?.dispose()
      await setup?.pool.end()
      await db?.close()
    })

    it("the app's migrate records its fingerprint, never the secret; the CLI's migrate and a bare migrate() leave it", async () => {
      const [row] = await recorded()
      assert.strictEqual(row!.fingerprint, fingerprint(SECRET))
      assert.notInclude(JSON.stringify(await recorded()), SECRET)
      assert.strictEqual((await cli(["migrate"])).code, 0)
      await migrate(setup.auth, { url: db.url }) // no tokenSecret given: not the app's to say
      await app.migrate() // the same secret again: the same record, not a new one
      assert.deepStrictEqual(await recorded(), [row!])
    })

    it("the CLI without the app's secret refuses create and revoke --leaked in one line; the token stays live; by id works", async () => {
      const { email, userId } = await newUser("ops")
      const { token, info } = await app.tokens.create({ userId, name: "deploy" })
      const plaintext = Redacted.value(token)

      refused(await cli(["tokens", "create", "--user", email, "--name", "ci"]))
      refused(await cli(["tokens", "revoke", "--leaked"], { stdin: `leaked in a log: ${plaintext}\n` }))
      refused(await cli(["tokens", "create", "--user", email, "--name", "ci"], { secret: OTHER })) // a wrong one too
      assert.strictEqual((await app.getSession(bearer(plaintext)))!.user.id, userId, "the leaked token is still live")
      assert.deepStrictEqual((await app.tokens.list(userId)).map((t) => t.id), [info.id], "nothing was minted")

      // Listing and revoking by id read no digest: they work without the secret.
      const listed = await cli(["--json", "tokens", "list", "--user", email])
      assert.strictEqual(listed.code, 0, listed.stderr)
      assert.deepStrictEqual((JSON.parse(listed.stdout) as Array<{ id: string }>).map((t) => t.id), [info.id])
      const spare = await app.tokens.create({ userId, name: "spare" })
      const byId = await cli(["tokens", "revoke", spare.info.id])
      assert.strictEqual(byId.code, 0, byId.stderr)
      assert.isNull(await app.getSession(bearer(Redacted.value(spare.token))))
    })

    it("with FUSION_AUTH_TOKEN_SECRET set to the app's, the CLI mints tokens the app accepts and revokes a leaked one", async () => {
      const { email, userId } = await newUser("ops")
      const created = await cli(["tokens", "create", "--user", email, "--name", "ci"], { secret: SECRET })
      assert.strictEqual(created.code, 0, created.stderr)
      const minted = created.stdout.trim()
      assert.strictEqual((await app.getSession(bearer(minted)))!.user.id, userId)

      const { token } = await app.tokens.create({ userId, name: "leaky" })
      const plaintext = Redacted.value(token)
      const revoked = await cli(["tokens", "revoke", "--leaked"], { secret: SECRET, stdin: `TOKEN=${plaintext}\n` })
      assert.strictEqual(revoked.code, 0, revoked.stderr)
      assert.isNull(await app.getSession(bearer(plaintext)))
      assert.strictEqual((await app.getSession(bearer(minted)))!.user.id, userId)
    })

    it("a second runtime with another tokenSecret refuses create, rotate and revokeLeaked; the endpoints answer a bare 500", async () => {
      const { userId, cookie } = await newUser("dev")
      const { token, info } = await app.tokens.create({ userId, name: "ci" })
      const plaintext = Redacted.value(token)
      const logged: Array<string> = []
      const other = createAuthSession(setup.auth, {
        database: { url: db.url },
        tokenSecret: OTHER,
        loggers: [Logger.make((o) => void logged.push([o.message].flat().join(" ")))]
      })
      try {
        const mismatch = new TokenSecretMismatch()
        assert.deepStrictEqual(await other.tokens.create({ userId, name: "x" }).catch((e: unknown) => e), mismatch)
        assert.deepStrictEqual(await other.tokens.rotate({ userId, tokenId: info.id }).catch((e: unknown) => e), mismatch)
        assert.deepStrictEqual(await other.tokens.revokeLeaked(plaintext).catch((e: unknown) => e), mismatch)
        assert.strictEqual((await app.getSession(bearer(plaintext)))!.user.id, userId)
        assert.deepStrictEqual((await other.tokens.list(userId)).map((t) => t.id), [info.id])

        // The plugin's endpoints are served by the runtime created last: this one.
        const response = await setup.auth.handler(
          new Request("http://localhost:3000/api/auth/fusion-auth/tokens/create", {
            method: "POST",
            headers: { cookie, origin: "http://localhost:3000", "content-type": "application/json" },
            body: JSON.stringify({ name: "from the browser" })
          })
        )
        assert.strictEqual(response.status, 500)
        const body = await response.text()
        assert.deepStrictEqual(JSON.parse(body), { code: "SERVER_ERROR", message: "The server could not complete the request" })
        for (const hidden of [SECRET, OTHER, fingerprint(SECRET), fingerprint(OTHER), "hmac", "secret", "TokenSecretMismatch"]) {
          assert.notInclude(body, hidden)
        }
        assert.include(logged, MISMATCH, "the operator reads why in the log")

        // By id it works, even from the other runtime.
        assert.isNotNull((await other.tokens.revokeById(info.id)).revokedAt)
        assert.isNull(await app.getSession(bearer(plaintext)))
      } finally {
        await other.dispose()
      }
      assert.strictEqual((await app.tokens.create({ userId, name: "still mints" })).info.userId, userId)
    })

    it("a database the previous release migrated (no record, no table) mints and revokes as before, until the app migrates", async () => {
      // No digest scheme recorded, as before migration 5 (whose successors add columns if missing, and run again).
      await setup.pool.query(`drop table "fusionAuthDigestScheme"`)
      await setup.pool.query(`delete from "fusionAuthMigrations" where "migration_id" >= 5`)
      const { email, userId } = await newUser("old")

      const created = await cli(["tokens", "create", "--user", email, "--name", "ci"], { secret: SECRET })
      assert.strictEqual(created.code, 0, created.stderr)
      assert.strictEqual((await app.getSession(bearer(created.stdout.trim())))!.user.id, userId)
      const leaked = Redacted.value((await app.tokens.create({ userId, name: "leaky" })).token)
      assert.isNotNull((await app.tokens.revokeLeaked(leaked)).revokedAt)
      assert.isNull(await app.getSession(bearer(leaked)))
      // Without a record no process can tell a wrong secret: the CLI without one mints, as before.
      assert.strictEqual((await cli(["tokens", "create", "--user", email, "--name", "unchecked"])).code, 0)

      // An empty table (migrated by this release, but only by the CLI or a bare migrate()) is no record either.
      await migrate(setup.auth, { url: db.url })
      assert.deepStrictEqual(await recorded(), [])
      const again = await cli(["tokens", "revoke", "--leaked"], { stdin: `${created.stdout.trim()}\n` })
      assert.strictEqual(again.code, 1) // not found under plain SHA-256, as before: the token stays live
      assert.strictEqual((await app.getSession(bearer(created.stdout.trim())))!.user.id, userId)

      await app.migrate()
      assert.deepStrictEqual((await recorded()).map((r) => r.fingerprint), [fingerprint(SECRET)])
      refused(await cli(["tokens", "create", "--user", email, "--name", "ci"]))
    })

    it("the app's re-migrate with a new secret records the new fingerprint; a runtime still on the old one then refuses", async () => {
      const { email, userId } = await newUser("rotate")
      const [before] = await recorded()
      assert.strictEqual(before!.fingerprint, fingerprint(SECRET))
      const renewed = createAuthSession(setup.auth, { database: { url: db.url }, tokenSecret: NEW })
      try {
        await renewed.migrate()
        const [after] = await recorded()
        assert.strictEqual(after!.fingerprint, fingerprint(NEW))
        assert.notStrictEqual(after!.fingerprint, before!.fingerprint)
        assert.notInclude(after!.fingerprint, NEW)
        assert.isAtLeast(after!.savedAt.getTime(), before!.savedAt.getTime())
        const { token } = await renewed.tokens.create({ userId, name: "new" })
        assert.strictEqual((await renewed.getSession(bearer(Redacted.value(token))))!.user.id, userId)
        // Not cached: the runtime that matched a moment ago now refuses.
        assert.deepStrictEqual(await app.tokens.create({ userId, name: "old" }).catch((e: unknown) => e), new TokenSecretMismatch())
        refused(await cli(["tokens", "create", "--user", email, "--name", "x"], { secret: SECRET }))
      } finally {
        await renewed.dispose()
      }
    })
  })
}
