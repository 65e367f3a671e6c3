/**
 * Organization tokens on Better Auth's real `organization` plugin, on PGlite and real Postgres:
 * minted through Better Auth's endpoint only by a member whose role may mint (owners and admins
 * by default); on every request the token's one statement reads the membership too, so a
 * removed member, a lowered role, a deleted organization and a locked-out member each take
 * effect on the next request; the `Session` says which organization and which role; a cookie
 * carries its `activeOrganizationId`; the CLI lists and revokes an organization's tokens.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { Effect, Layer, Redacted } from "effect"
import { organization } from "better-auth/plugins/organization"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { ApiToken, Stores, TokenStore } from "../src/effect.ts"
import { createAuthSession, fusionAuth, InvalidToken, InvalidTokenInput, migrate } from "../src/index.ts"
import { MemoryDatabase } from "../src/testing.ts"
import { fusionAuth as cli } from "./support/cli.ts"
import { quietOptions } from "./support/auth.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"

const PASSWORD = "correct horse battery"
const BASE = "http://localhost:3000"

const makeApp = (dbUrl: string, fusionUrl: string) => {
  const pool = testPool(dbUrl)
  const auth = betterAuth({
    ...quietOptions(pool),
    plugins: [fusionAuth(), organization()]
  })
  const app = createAuthSession(auth, { database: { url: fusionUrl }, tokens: { scopes: ["read", "write"], lastUsedInterval: "1 hour" } })
  return { auth, pool, app }
}

for (const backend of sqlBackends) {
  describe(`organization tokens on ${backend.name}`, () => {
    let db: TestDatabase
    let wire: WireCounter
    let setup: ReturnType<typeof makeApp>
    let n = 0

    beforeAll(async () => {
      db = await backend.make()
      wire = await countStatements(db.url)
      setup = makeApp(db.url, wire.url)
      await migrate(setup.auth, { url: db.url })
    }, 120_000)
    afterAll(async () => {
      await setup?.app.dispose()
      await setup?.pool.end()
      await wire?.close()
      await db?.close()
    })

    const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` })
    /** A signed-up user: id, email and the browser's cookie. */
    const person = async (label: string) => {
      const email = `${label}${++n}.${Math.random().toString(36).slice(2, 8)}@example.com`
      const { headers, response } = await setup.auth.api.signUpEmail({ body: { email, password: PASSWORD, name: label }, returnHeaders: true })
      return { id: response.user.id, email, cookie: headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") }
    }
    /** An organization its owner created, with an admin and a member added. */
    const team = async () => {
      const owner = await person("owner")
      const admin = await person("admin")
      const member = await person("member")
      const org = await setup.auth.api.createOrganization({
        body: { name: "Acme", slug: `acme-${++n}-${Math.random().toString(36).slice(2, 8)}` },
        headers: new Headers({ cookie: owner.cookie })
      })
      await setup.auth.api.addMember({ body: { userId: admin.id, role: "admin", organizationId: org!.id } })
      await setup.auth.api.addMember({ body: { userId: member.id, role: "member", organizationId: org!.id } })
      const members = await setup.auth.api.listMembers({ query: { organizationId: org!.id }, headers: new Headers({ cookie: owner.cookie }) })
      const memberId = (userId: string) => members.members.find((m) => m.userId === userId)!.id
      return { owner, admin, member, orgId: org!.id, memberId }
    }
    /** POST to one of the plugin's token endpoints through Better Auth's own handler, as a browser or a script. */
    const post = async (path: "create" | "rotate", headers: Record<string, string>, body: Record<string, unknown>) => {
      const response = await setup.auth.handler(new Request(`${BASE}/api/auth/fusion-auth/tokens/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: BASE, ...headers },
        body: JSON.stringify(body)
      }))
      return { status: response.status, body: (await response.json()) as { token: string; info: { id: string; organizationId: string | null }; code?: string; field?: string } }
    }
    const mint = (headers: Record<string, string>, body: Record<string, unknown>) => post("create", headers, body)
    const resolved = async (token: string) => {
      wire.reset()
      const result = await setup.app.resolve(bearer(token))
      return { result, statements: wire.statements().length }
    }

    it("minted by role: an owner and an admin may, a member and an outsider may not; its Session names the organization and the role, in one statement", async () => {
      const { owner, admin, member, orgId } = await team()
      const outsider = await person("outsider")
      const byOwner = await mint({ cookie: owner.cookie }, { name: "deploy", scopes: ["read"], organizationId: orgId })
      assert.strictEqual(byOwner.status, 200)
      assert.strictEqual(byOwner.body.info.organizationId, orgId)
      const byAdmin = await mint({ cookie: admin.cookie }, { name: "ci", scopes: ["read", "write"], organizationId: orgId })
      assert.strictEqual(byAdmin.status, 200)
      for (const refused of [member, outsider]) {
        const answer = await mint({ cookie: refused.cookie }, { name: "nope", organizationId: orgId })
        assert.strictEqual(answer.status, 400)
        assert.deepInclude(answer.body, { code: "INVALID_TOKEN_INPUT", field: "organizationId" })
      }
      const { result, statements } = await resolved(byAdmin.body.token)
      assert.strictEqual(statements, 1, "the token and its membership in one statement")
      assert.isTrue("session" in result)
      if (!("session" in result)) return
      assert.strictEqual(result.session.user.id, admin.id)
      assert.isNull(result.session.session)
      assert.strictEqual(result.session.activeOrganizationId, orgId)
      assert.strictEqual(result.session.memberRole, "admin")
      assert.deepStrictEqual(result.session.scopes, ["read", "write"])
      assert.strictEqual(result.session.tokenId, byAdmin.body.info.id)
      // A personal token of the same user says nothing of organizations.
      const { token } = await setup.app.tokens.create({ userId: admin.id, name: "mine" })
      const personal = await setup.app.getSession(bearer(Redacted.value(token)))
      assert.strictEqual(personal?.user.id, admin.id)
      assert.isUndefined(personal?.activeOrganizationId)
      assert.isUndefined(personal?.memberRole)
    })

    it("a removed member's organization tokens are refused on the next request; their own tokens are not", async () => {
      const { owner, admin, orgId, memberId } = await team()
      const { body } = await mint({ cookie: admin.cookie }, { name: "ci", organizationId: orgId })
      const own = await mint({ cookie: admin.cookie }, { name: "own" })
      assert.strictEqual((await setup.app.getSession(bearer(body.token)))?.user.id, admin.id)
      await setup.auth.api.removeMember({ body: { memberIdOrEmail: memberId(admin.id), organizationId: orgId }, headers: new Headers({ cookie: owner.cookie }) })
      const { result, statements } = await resolved(body.token)
      assert.deepStrictEqual("error" in result ? result.error : result, new InvalidToken({ reason: "removed", tokenId: body.info.id }))
      assert.strictEqual(statements, 1)
      assert.strictEqual((await setup.app.getSession(bearer(own.body.token)))?.user.id, admin.id)
      const thrown = await setup.app.requireSession(bearer(body.token)).then(() => undefined, (r: Response) => r.status)
      assert.strictEqual(thrown, 401)
    })

    it("a removed member added again is a new member: the tokens minted before stay refused, new ones work; a token from before memberId was recorded follows any membership", async () => {
      const { owner, admin, orgId, memberId } = await team()
      const { body } = await mint({ cookie: admin.cookie }, { name: "ci", organizationId: orgId })
      const older = await mint({ cookie: admin.cookie }, { name: "older", organizationId: orgId })
      // As an earlier release minted it: no member row recorded.
      await setup.pool.query(`update "apiToken" set "memberId" = null where "id" = $1`, [older.body.info.id])
      const ownerHeaders = new Headers({ cookie: owner.cookie })
      await setup.auth.api.removeMember({ body: { memberIdOrEmail: memberId(admin.id), organizationId: orgId }, headers: ownerHeaders })
      await setup.auth.api.addMember({ body: { userId: admin.id, role: "admin", organizationId: orgId } })
      const { result, statements } = await resolved(body.token)
      assert.deepStrictEqual("error" in result ? result.error : result, new InvalidToken({ reason: "removed", tokenId: body.info.id }))
      assert.strictEqual(statements, 1)
      assert.strictEqual((await setup.app.getSession(bearer(older.body.token)))?.activeOrganizationId, orgId)
      // Nor is it renewed: rotating it is refused, as minting anew is not.
      const renewed = await post("rotate", { cookie: admin.cookie }, { tokenId: body.info.id })
      assert.strictEqual(renewed.status, 400)
      assert.deepInclude(renewed.body, { code: "INVALID_TOKEN_INPUT", field: "tokenId" })
      const again = await mint({ cookie: admin.cookie }, { name: "again", organizationId: orgId })
      const session = await setup.app.getSession(bearer(again.body.token))
      assert.deepStrictEqual([session?.activeOrganizationId, session?.memberRole], [orgId, "admin"])
    })

    it("a lowered role narrows the token on the next request: an admin's token made member loses tokens:manage and cannot mint", async () => {
      const { owner, admin, orgId, memberId } = await team()
      const { body } = await mint({ cookie: admin.cookie }, { name: "ci", scopes: ["read", "tokens:manage"], organizationId: orgId })
      const before = await setup.app.getSession(bearer(body.token))
      assert.deepStrictEqual([before?.scopes, before?.memberRole], [["read", "tokens:manage"], "admin"])
      const child = await mint({ authorization: `Bearer ${body.token}` }, { name: "job", scopes: ["read"] })
      assert.strictEqual(child.status, 200)
      assert.strictEqual(child.body.info.organizationId, orgId, "a token acting for an organization mints for it")
      const elsewhere = await mint({ authorization: `Bearer ${body.token}` }, { name: "job", organizationId: "another-org" })
      assert.deepInclude(elsewhere.body, { code: "INVALID_TOKEN_INPUT", field: "organizationId" })

      await setup.auth.api.updateMemberRole({ body: { memberId: memberId(admin.id), role: "member", organizationId: orgId }, headers: new Headers({ cookie: owner.cookie }) })
      const after = await setup.app.getSession(bearer(body.token))
      assert.deepStrictEqual([after?.scopes, after?.memberRole], [["read"], "member"])
      const refused = await mint({ authorization: `Bearer ${body.token}` }, { name: "job 2", scopes: ["read"] })
      assert.strictEqual(refused.status, 403)
      assert.deepInclude(refused.body, { code: "INSUFFICIENT_SCOPE" })
    })

    it("an organization's token manages only that organization's tokens: it lists, revokes and rotates no other of its user's", async () => {
      const { admin, orgId } = await team()
      const managing = await mint({ cookie: admin.cookie }, { name: "manager", scopes: ["tokens:manage"], organizationId: orgId })
      const own = await mint({ cookie: admin.cookie }, { name: "own" })
      const other = await setup.auth.api.createOrganization({ body: { name: "Other", slug: `other-${++n}-${Math.random().toString(36).slice(2, 8)}` }, headers: new Headers({ cookie: admin.cookie }) })
      const elsewhere = await mint({ cookie: admin.cookie }, { name: "elsewhere", organizationId: other!.id })
      const call = (path: string, body?: unknown) =>
        setup.auth.handler(new Request(`${BASE}/api/auth/fusion-auth/tokens/${path}`, {
          method: body === undefined ? "GET" : "POST",
          headers: { "content-type": "application/json", origin: BASE, authorization: `Bearer ${managing.body.token}` },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        }))
      const listed = (await (await call("list")).json()) as { tokens: Array<{ id: string }> }
      assert.deepStrictEqual(listed.tokens.map((t) => t.id), [managing.body.info.id])
      const byCookie = (await (await setup.auth.handler(new Request(`${BASE}/api/auth/fusion-auth/tokens/list?organizationId=${other!.id}`, { headers: { cookie: admin.cookie } }))).json()) as { tokens: Array<{ id: string }> }
      assert.deepStrictEqual(byCookie.tokens.map((t) => t.id), [elsewhere.body.info.id], "a cookie lists one organization's tokens on asking")
      for (const target of [own, elsewhere]) {
        assert.strictEqual((await call("revoke", { tokenId: target.body.info.id })).status, 404)
        assert.strictEqual((await call("rotate", { tokenId: target.body.info.id })).status, 404)
        assert.strictEqual((await setup.app.getSession(bearer(target.body.token)))?.user.id, admin.id, "untouched")
      }
    })

    it("a deleted organization's tokens are refused on the next request", async () => {
      const { owner, orgId } = await team()
      const { body } = await mint({ cookie: owner.cookie }, { name: "deploy", organizationId: orgId })
      assert.strictEqual((await setup.app.getSession(bearer(body.token)))?.activeOrganizationId, orgId)
      await setup.auth.api.deleteOrganization({ body: { organizationId: orgId }, headers: new Headers({ cookie: owner.cookie }) })
      const { result } = await resolved(body.token)
      assert.deepStrictEqual("error" in result ? result.error : result, new InvalidToken({ reason: "removed", tokenId: body.info.id }))
    })

    it("a removed member's and a deleted organization's tokens are listed as removed (the user's list, the organization's, the CLI) and no longer count as live: at the limit, the user mints again", async () => {
      const { owner, admin, orgId, memberId } = await team()
      const limited = createAuthSession(setup.auth, { database: { url: db.url }, tokens: { scopes: ["read", "write"], maxLiveTokensPerUser: 2 } })
      try {
        const ci = await limited.tokens.create({ userId: admin.id, name: "ci", organizationId: orgId })
        await limited.tokens.create({ userId: admin.id, name: "own" })
        const atLimit = await limited.tokens.create({ userId: admin.id, name: "third" }).then(() => undefined, (error: unknown) => error)
        assert.instanceOf(atLimit, InvalidTokenInput)
        const removedOf = async (userId: string) => Object.fromEntries((await limited.tokens.list(userId)).map((t) => [t.name, t.removed]))
        assert.deepStrictEqual(await removedOf(admin.id), { ci: false, own: false })
        await setup.auth.api.removeMember({ body: { memberIdOrEmail: memberId(admin.id), organizationId: orgId }, headers: new Headers({ cookie: owner.cookie }) })
        assert.deepStrictEqual(await removedOf(admin.id), { ci: true, own: false })
        assert.isNull((await limited.tokens.list(admin.id)).find((t) => t.id === ci.info.id)!.revokedAt, "removed, not revoked: nothing was written")
        await limited.tokens.create({ userId: admin.id, name: "third" })
        const env = { env: { DATABASE_URL: db.url } }
        const line = (await cli(["tokens", "list", "--user", admin.email], env)).stdout.split("\n").find((l) => l.includes(ci.info.id))
        assert.include(line, "REMOVED")
        // The organization deleted: its owner's token too, in the organization's own list; one minted before the
        // member row was recorded follows any membership, so it may come back: refused, but not removed, and still counted.
        const deploy = await limited.tokens.create({ userId: owner.id, name: "deploy", organizationId: orgId })
        const legacy = await limited.tokens.create({ userId: owner.id, name: "legacy", organizationId: orgId })
        await setup.pool.query(`update "apiToken" set "memberId" = null where "id" = $1`, [legacy.info.id])
        await setup.auth.api.deleteOrganization({ body: { organizationId: orgId }, headers: new Headers({ cookie: owner.cookie }) })
        const listed = await cli(["--json", "tokens", "list", "--organization", orgId], env)
        assert.deepStrictEqual(
          (JSON.parse(listed.stdout) as Array<{ id: string; removed: boolean }>).map((t) => [t.id, t.removed]),
          [[ci.info.id, true], [deploy.info.id, true], [legacy.info.id, false]]
        )
        assert.isNull(await setup.app.getSession(bearer(Redacted.value(legacy.token))))
        await limited.tokens.create({ userId: owner.id, name: "one" }) // legacy and one: the limit
        assert.instanceOf(await limited.tokens.create({ userId: owner.id, name: "two" }).then(() => undefined, (error: unknown) => error), InvalidTokenInput)
      } finally {
        await limited.dispose()
      }
    })

    it("a locked-out member's organization token is refused, as every token is; reactivation lets it back", async () => {
      const { owner, orgId } = await team()
      const { body } = await mint({ cookie: owner.cookie }, { name: "deploy", organizationId: orgId })
      await setup.app.users.deactivate(owner.id)
      assert.isNull(await setup.app.getSession(bearer(body.token)))
      await setup.app.users.reactivate(owner.id)
      assert.strictEqual((await setup.app.getSession(bearer(body.token)))?.memberRole, "owner")
    })

    it("the token statement with its membership join, alone and batched, is served by indexes", async () => {
      const { owner, admin, orgId } = await team()
      const a = await mint({ cookie: owner.cookie }, { name: "plan a", organizationId: orgId })
      const b = await mint({ cookie: admin.cookie }, { name: "plan b", organizationId: orgId })
      wire.reset()
      await setup.app.getSession(bearer(a.body.token))
      await Promise.all([a, b, a, b].map((t) => setup.app.getSession(bearer(t.body.token))))
      const texts = [...new Set(wire.statements().map((s) => s.text))]
      assert.strictEqual(texts.length, 2, texts.join("\n")) // alone, and a batch
      for (const text of texts) assert.include(text, "left join")
      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      try {
        await client.query("set enable_seqscan = off")
        for (const [i, text] of texts.entries()) {
          await client.query(`prepare p${i} as ${text}`)
          const plan = (await client.query<{ "QUERY PLAN": string }>(`explain execute p${i}('${/\$1::text\[\]/.test(text) ? "{a,b}" : "a"}')`))
            .rows.map((r) => r["QUERY PLAN"]).join("\n")
          assert.notInclude(plan, "Seq Scan", `${text}\n${plan}`)
        }
      } finally {
        await client.end()
      }
    })

    it("a cookie carries its session's activeOrganizationId, still in one statement", async () => {
      const { owner, orgId } = await team()
      const headers = new Headers({ cookie: owner.cookie })
      await setup.auth.api.setActiveOrganization({ body: { organizationId: orgId }, headers })
      wire.reset()
      const session = await setup.app.getSession(headers)
      assert.strictEqual(wire.statements().length, 1)
      assert.strictEqual(session?.activeOrganizationId, orgId)
      assert.strictEqual(session?.session?.activeOrganizationId, orgId)
      assert.isUndefined(session?.memberRole, "a cookie's role is Better Auth's to tell")
    })

    it("the CLI lists an organization's tokens, whoever minted them, and revokes them all", async () => {
      const { owner, admin, orgId } = await team()
      const a = await mint({ cookie: owner.cookie }, { name: "deploy", organizationId: orgId })
      const b = await mint({ cookie: admin.cookie }, { name: "ci", organizationId: orgId })
      const own = await mint({ cookie: admin.cookie }, { name: "own" })
      const env = { env: { DATABASE_URL: db.url } }
      const listed = await cli(["--json", "tokens", "list", "--organization", orgId], env)
      assert.strictEqual(listed.code, 0, listed.stderr)
      assert.sameMembers((JSON.parse(listed.stdout) as Array<{ id: string }>).map((t) => t.id), [a.body.info.id, b.body.info.id])
      const revoked = await cli(["tokens", "revoke", "--organization", orgId], env)
      assert.strictEqual(revoked.code, 0, revoked.stderr)
      assert.isNull(await setup.app.getSession(bearer(a.body.token)))
      assert.isNull(await setup.app.getSession(bearer(b.body.token)))
      assert.strictEqual((await setup.app.getSession(bearer(own.body.token)))?.user.id, admin.id, "a personal token is not the organization's")
      assert.strictEqual((await cli(["tokens", "list", "--organization", orgId, "--user", admin.email], env)).code, 2)
    })
  })
}

describe("organization tokens in the memory layers (for apps' own tests)", () => {
  const ada = { id: "ada", email: "ada@example.com", name: "Ada", emailVerified: true, createdAt: new Date(0), updatedAt: new Date(0) }
  const layer = Stores.layerMemory.pipe(Layer.provide(Stores.settings({ tokens: { scopes: ["read"] } })))

  it.effect("MemoryDatabase.setMember stands in for the plugin: minting by role, a lowered role narrows, a removed member ends the token", () =>
    Effect.gen(function*() {
      const store = yield* TokenStore
      yield* MemoryDatabase.addUser(ada)
      const outsider = yield* Effect.flip(store.create({ userId: "ada", name: "x", organizationId: "org_1" }))
      assert.deepStrictEqual(outsider, new InvalidTokenInput({ field: "organizationId", problem: "the user is not a member of this organization" }))
      yield* MemoryDatabase.setMember("org_1", "ada", "admin")
      const { token, info } = yield* store.create({ userId: "ada", name: "ci", scopes: ["read", "tokens:manage"], organizationId: "org_1" })
      const parsed = ApiToken.parse(Redacted.value(token))!
      const verified = yield* store.verify(parsed)
      assert.deepStrictEqual([verified.organization, verified.scopes], [{ id: "org_1", role: "admin" }, ["read", "tokens:manage"]])
      yield* MemoryDatabase.setMember("org_1", "ada", "member")
      assert.deepStrictEqual((yield* store.verify(parsed)).scopes, ["read"])
      yield* MemoryDatabase.setMember("org_1", "ada", undefined)
      assert.deepStrictEqual(yield* Effect.flip(store.verify(parsed)), new InvalidToken({ reason: "removed", tokenId: info.id }))
      assert.deepStrictEqual((yield* store.list("ada")).map((t) => t.removed), [true])
      // Added again: a new member row, so the token minted under the old one stays refused.
      yield* MemoryDatabase.setMember("org_1", "ada", "admin")
      assert.deepStrictEqual(yield* Effect.flip(store.verify(parsed)), new InvalidToken({ reason: "removed", tokenId: info.id }))
    }).pipe(Effect.provide(layer)))

  it.effect("a removed member's token no longer counts as live: at the limit, the user mints again", () =>
    Effect.gen(function*() {
      const store = yield* TokenStore
      yield* MemoryDatabase.addUser(ada)
      yield* MemoryDatabase.setMember("org_1", "ada", "admin")
      yield* store.create({ userId: "ada", name: "ci", organizationId: "org_1" })
      assert.strictEqual((yield* Effect.flip(store.create({ userId: "ada", name: "own" })))._tag, "InvalidTokenInput")
      yield* MemoryDatabase.setMember("org_1", "ada", undefined)
      assert.strictEqual((yield* store.create({ userId: "ada", name: "own" })).info.removed, false)
    }).pipe(Effect.provide(Stores.layerMemory.pipe(Layer.provide(Stores.settings({ tokens: { scopes: ["read"], maxLiveTokensPerUser: 1 } }))))))

  it.effect("a rotation's successor holds what the role there allows now, as a new token would", () =>
    Effect.gen(function*() {
      const store = yield* TokenStore
      yield* MemoryDatabase.addUser(ada)
      yield* MemoryDatabase.setMember("org_1", "ada", "admin")
      const { token, info } = yield* store.create({ userId: "ada", name: "deploy", scopes: ["read", "deploy"], organizationId: "org_1" })
      // A lead may mint, but holds only read there.
      yield* MemoryDatabase.setMember("org_1", "ada", "lead")
      assert.deepStrictEqual((yield* store.verify(ApiToken.parse(Redacted.value(token))!)).scopes, ["read"])
      const refused = yield* Effect.flip(store.create({ userId: "ada", name: "new", scopes: ["read", "deploy"], organizationId: "org_1" }))
      assert.strictEqual((refused as InvalidTokenInput).field, "scopes")
      const successor = yield* store.rotate({ userId: "ada", tokenId: info.id })
      assert.deepStrictEqual(successor.info.scopes, ["read"])
      // Made admin again, the successor does not get back what it was never given.
      yield* MemoryDatabase.setMember("org_1", "ada", "admin")
      assert.deepStrictEqual((yield* store.verify(ApiToken.parse(Redacted.value(successor.token))!)).scopes, ["read"])
    }).pipe(Effect.provide(Stores.layerMemory.pipe(Layer.provide(Stores.settings({
      tokens: {
        scopes: ["read", "deploy"],
        organizations: { mint: (roles) => roles.includes("admin") || roles.includes("lead"), grantable: (roles) => (roles.includes("admin") ? ["read", "deploy"] : ["read"]) }
      }
    }))))))
})
