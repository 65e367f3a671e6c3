/**
 * Per-token rate limits through `createAuthSession` over real Better Auth, on PGlite and real
 * Postgres: a token's own limit set at creation (through Better Auth's endpoint) and bounded
 * by the policy and by the token that mints it; `requireSession`, the Start request middleware
 * and the token endpoints refuse past it with the 429, while `getSession` is not counted; refused requests cost no
 * statement, and counting writes nothing (read on the wire); a database an earlier release
 * migrated keeps its tokens, which answer as before.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, migrate } from "../src/index.ts"
import { startMiddleware } from "../src/tanstack-start.ts"
import { makeAuth, signUp } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"

const HOUR = 3_600_000
const rateLimit = { requests: 3, maxRequests: 10, window: "1 hour" } as const

/** Waits, if need be, so that the next few seconds stay in one window of the hour. */
const awayFromEdge = async () => {
  const left = HOUR - (Date.now() % HOUR)
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

for (const backend of sqlBackends) {
  describe(`rate limits at every door, ${backend.name}`, () => {
    let db: TestDatabase
    let wire: WireCounter
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
    let emails = 0

    beforeAll(async () => {
      db = await backend.make()
      wire = await countStatements(db.url)
      setup = makeAuth(db.url)
      await migrate(setup.auth, { url: db.url })
      app = createAuthSession(setup.auth, {
        database: { url: wire.url },
        tokens: { scopes: ["read"], rateLimit, lastUsedInterval: "1 hour" }
      })
    }, 120_000)
    afterAll(async () => {
      await app?.dispose()
      await setup?.pool.end()
      await wire?.close()
      await db?.close()
    })

    const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` })
    const newUser = () => signUp(setup.auth, `limits${++emails}.${backend.name}.${Math.random().toString(36).slice(2, 8)}@example.com`)
    /** POST to one of the plugin's token endpoints through Better Auth's own handler. */
    const post = (path: string, headers: Headers, body: unknown) => {
      headers.set("content-type", "application/json")
      headers.set("origin", "http://localhost:3000")
      return setup.auth.handler(new Request(`http://localhost:3000/api/auth/fusion-auth/tokens/${path}`, { method: "POST", headers, body: JSON.stringify(body) }))
    }
    /** What `requireSession` answers: the user id, or the thrown response's status. */
    const through = (headers: Headers) => app.requireSession(headers).then((s) => s.user.id, (thrown: Response) => thrown.status)

    it("a token's own limit, set through Better Auth's endpoint, is held by requireSession: the 429 and its headers", async () => {
      await awayFromEdge()
      const { userId, cookie } = await newUser()
      const over = await post("create", new Headers({ cookie }), { name: "too fast", rateLimit: 11 })
      assert.strictEqual(over.status, 400)
      assert.deepInclude(await over.json(), { code: "INVALID_TOKEN_INPUT", field: "rateLimit" })
      const made = await post("create", new Headers({ cookie }), { name: "ci", rateLimit: 2 })
      assert.strictEqual(made.status, 200)
      const { token, info } = (await made.json()) as { token: string; info: { id: string; rateLimit: number | null } }
      assert.strictEqual(info.rateLimit, 2)
      assert.strictEqual((await app.tokens.list(userId))[0]!.rateLimit, 2)

      assert.deepStrictEqual([await through(bearer(token)), await through(bearer(token))], [userId, userId])
      const refused = await app.requireSession(bearer(token)).then(() => assert.fail("admitted past its limit"), (r: Response) => r)
      assert.strictEqual(refused.status, 429)
      const retryAfter = Number(refused.headers.get("retry-after"))
      assert.isTrue(retryAfter >= 1 && retryAfter <= 3600)
      assert.strictEqual(refused.headers.get("ratelimit-policy"), `"token";q=2;w=3600`)
      assert.strictEqual(refused.headers.get("ratelimit"), `"token";r=0;t=${retryAfter}`)
      assert.deepStrictEqual(await refused.json(), { error: "rate_limited", reason: "RateLimited", scope: "token" })
      assert.notInclude(JSON.stringify([...refused.headers]), token.slice(8), "no part of the token in the answer")

      // getSession asks who is calling and counts nothing; the cookie is never counted.
      assert.strictEqual((await app.getSession(bearer(token)))?.user.id, userId)
      for (let i = 0; i < 5; i++) assert.strictEqual(await through(new Headers({ cookie })), userId)
      // The token endpoints are a door too: past its limit, a token cannot even list.
      const listed = await setup.auth.handler(new Request("http://localhost:3000/api/auth/fusion-auth/tokens/list", { headers: bearer(token) }))
      assert.strictEqual(listed.status, 429)
      assert.strictEqual(listed.headers.get("ratelimit-policy"), `"token";q=2;w=3600`)
    })

    it("the Start request middleware, required or optional, answers a token past its limit with the 429", async () => {
      await awayFromEdge()
      const { userId } = await newUser()
      const { token } = await app.tokens.create({ userId, name: "start", rateLimit: 1 })
      const start = startMiddleware(() => app)
      const run = async (middleware: unknown) => {
        const server = (middleware as { options: { server: (input: { request: Request; next: (x: unknown) => unknown }) => Promise<unknown> } }).options.server
        const result = await server({ request: new Request("http://localhost:3000/api/me", { headers: bearer(Redacted.value(token)) }), next: () => "next" })
        return result === "next" ? "next" : (result as Response)
      }
      assert.strictEqual(await run(start.requireSessionRequestMiddleware), "next")
      for (const middleware of [start.requireSessionRequestMiddleware, start.sessionRequestMiddleware]) {
        const refused = await run(middleware)
        assert.notStrictEqual(refused, "next")
        assert.strictEqual((refused as Response).status, 429)
        assert.strictEqual((refused as Response).headers.get("ratelimit-policy"), `"token";q=1;w=3600`)
      }
    })

    it("a secondaryStorage without increment (an earlier Better Auth's) is refused when the runtime is made, with limits on only", async () => {
      const old = { get: () => null, set: () => undefined, delete: () => undefined, getAndDelete: () => null }
      const { auth, pool } = makeAuth(db.url, { secondaryStorage: old as never })
      try {
        assert.throws(() => createAuthSession(auth, { database: { url: db.url }, tokens: { rateLimit } }), /needs secondaryStorage\.increment/)
        await createAuthSession(auth, { database: { url: db.url } }).dispose()
      } finally {
        await pool.end()
      }
    })

    it("a refused token costs no statement, and counting writes nothing to the database", async () => {
      await awayFromEdge()
      const { userId } = await newUser()
      const { token } = await app.tokens.create({ userId, name: "hammer" })
      const plain = Redacted.value(token)
      wire.reset()
      for (let i = 0; i < rateLimit.requests; i++) assert.strictEqual(await through(bearer(plain)), userId)
      const admitted = wire.statements()
      assert.strictEqual(admitted.length, rateLimit.requests, "one statement per admitted request")
      wire.reset()
      assert.strictEqual(await through(bearer(plain)), 429)
      const first = wire.statements()
      assert.strictEqual(first.length, 1, "the first refusal resolved the token once, to know its limit")
      wire.reset()
      const statuses = await Promise.all(Array.from({ length: 50 }, () => through(bearer(plain))))
      assert.deepStrictEqual(new Set(statuses), new Set([429]))
      assert.strictEqual(wire.statements().length, 0, "every refusal after it is answered from memory")
      assert.deepStrictEqual([...admitted, ...first].filter((s) => s.write).map((s) => s.text), [], "no write")
    })

    it("the policy's default for a token made without a limit; a token minted by a token never gets a higher limit", async () => {
      await awayFromEdge()
      const { userId, cookie } = await newUser()
      const { token: manager } = await app.tokens.create({ userId, name: "manager", scopes: ["tokens:manage"], rateLimit: 5 })
      const minted = await post("create", bearer(Redacted.value(manager)), { name: "child", rateLimit: 9 })
      assert.strictEqual(minted.status, 200)
      const child = (await minted.json()) as { token: string; info: { rateLimit: number } }
      assert.strictEqual(child.info.rateLimit, 5, "bounded by the minting token's own limit")
      const { token: plainDefault, info } = await app.tokens.create({ userId, name: "default" })
      assert.isNull(info.rateLimit)
      const statuses = []
      for (let i = 0; i < rateLimit.requests + 1; i++) statuses.push(await through(bearer(Redacted.value(plainDefault))))
      assert.deepStrictEqual(statuses, [userId, userId, userId, 429])
      // Rotation keeps a token's own limit.
      const rotated = await post("rotate", new Headers({ cookie }), { tokenId: (await app.tokens.list(userId)).find((t) => t.name === "child")!.id })
      assert.strictEqual(((await rotated.json()) as { info: { rateLimit: number } }).info.rateLimit, 5)
    })

    it("a token cannot multiply its limit: the tokens it mints and the successors of the tokens it rotates count as one with it", async () => {
      await awayFromEdge()
      const { userId } = await newUser()
      const { token } = await app.tokens.create({ userId, name: "lineage", scopes: ["tokens:manage"], rateLimit: 4 })
      const other = await app.tokens.create({ userId, name: "other", rateLimit: 4 })
      const parent = Redacted.value(token)
      // Two uses of the limit of 4: minting a child, and rotating another of the user's tokens with an hour's grace.
      const child = await post("create", bearer(parent), { name: "child", scopes: ["tokens:manage"] })
      assert.strictEqual(child.status, 200)
      const rotated = await post("rotate", bearer(parent), { tokenId: other.info.id, gracePeriod: 3600 })
      assert.strictEqual(rotated.status, 200)
      const successor = ((await rotated.json()) as { token: string }).token
      const childToken = ((await child.json()) as { token: string }).token
      const answers = []
      for (const t of [childToken, successor, parent, childToken, successor, parent]) answers.push(await through(bearer(t)))
      assert.deepStrictEqual(answers, [userId, userId, 429, 429, 429, 429], "two more requests in all, whichever token")
      // The token rotated, through its grace, still counts on its own: the rotating token's holder never had its secret.
      assert.strictEqual(await through(bearer(Redacted.value(other.token))), userId)
    })

    it("a database an earlier release migrated upgrades with migrate(): its tokens resolve, as their user's own, under the default limit, and deactivation still refuses them", async () => {
      await awayFromEdge()
      const { userId } = await newUser()
      const { token } = await app.tokens.create({ userId, name: "from before" })
      const plain = Redacted.value(token)
      // The schema as the release before this one left it (migrations 1 to 5): no "rateLimit", no "organizationId".
      await setup.pool.query(`alter table "apiToken" drop column "rateLimit", drop column "lineageId", drop column "organizationId"`)
      await setup.pool.query(`delete from "fusionAuthMigrations" where "migration_id" >= 6`)
      await migrate(setup.auth, { url: db.url })
      const { rows } = await setup.pool.query<{ rateLimit: number | null; lineageId: string | null; organizationId: string | null }>(
        `select "rateLimit", "lineageId", "organizationId" from "apiToken" where "userId" = $1`,
        [userId]
      )
      assert.deepStrictEqual(rows, [{ rateLimit: null, lineageId: null, organizationId: null }])
      const session = await app.getSession(bearer(plain))
      assert.strictEqual(session?.user.id, userId)
      assert.isUndefined(session?.activeOrganizationId)
      assert.strictEqual(await through(bearer(plain)), userId)
      await app.users.deactivate(userId)
      assert.isNull(await app.getSession(bearer(plain)))
      assert.strictEqual(await through(bearer(plain)), 401)
      await app.users.reactivate(userId)
      // Its limit is the policy's default (3 a window): one use above, one refusal, two more.
      assert.deepStrictEqual([await through(bearer(plain)), await through(bearer(plain)), await through(bearer(plain))], [userId, userId, 429])
    })
  })
}
