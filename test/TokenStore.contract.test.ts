import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { ApiToken, TokenStore, Users } from "../src/effect.ts"
import { InvalidToken, InvalidTokenInput, TokenNotFound, UserNotFound } from "../src/index.ts"
import { LastUsed } from "../src/services/LastUsed.ts"
import { sqlBackends } from "./support/databases.ts"
import { Fixture, memoryStores, type StoreLayer, sqlStores } from "./support/stores.ts"

const parse = (token: Redacted.Redacted<string>) => ApiToken.parse(Redacted.value(token))!
const failure = <A, E>(effect: Effect.Effect<A, E, TokenStore>) => Effect.flip(effect)

const contract = (name: string, stores: StoreLayer, sqlBacked: boolean) =>
  layer(stores, { timeout: 120_000 })(`TokenStore and Users contract: ${name}`, (it) => {
    it.effect("a created token verifies to its owner, in one statement and no write", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const fixture = yield* Fixture
        const user = yield* fixture.createUser
        const { token, info } = yield* store.create({ userId: user.id, name: "ci" })
        assert.strictEqual(info.userId, user.id)
        assert.strictEqual(info.hint, `sk_live_…${Redacted.value(token).slice(-4)}`)
        yield* fixture.statements
        const verified = yield* store.verify(parse(token))
        assert.strictEqual(verified.user.id, user.id)
        assert.strictEqual(verified.user.email, user.email)
        assert.strictEqual(verified.tokenId, info.id)
        const statements = yield* fixture.statements
        assert.strictEqual(statements.length, sqlBacked ? 1 : 0)
        assert.isFalse(statements.some((s) => s.write))
      }))

    it.effect("list shows name, hint and times, never the secret or its digest", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const user = yield* (yield* Fixture).createUser
        const a = yield* store.create({ userId: user.id, name: "deploy" })
        yield* TestClock.adjust(1000)
        const b = yield* store.create({ userId: user.id, name: "  backup  ", expiresAt: new Date(1_000_000) })
        const listed = yield* store.list(user.id)
        assert.deepStrictEqual(listed.map((t) => t.id), [a.info.id, b.info.id])
        assert.deepStrictEqual(listed.map((t) => t.name), ["deploy", "backup"])
        assert.deepStrictEqual(listed[1]!.expiresAt, new Date(1_000_000))
        assert.deepStrictEqual(listed[1]!.createdAt, new Date(1000))
        const text = JSON.stringify(listed)
        for (const { token } of [a, b]) {
          assert.notInclude(text, Redacted.value(token))
          assert.notInclude(text, ApiToken.digest(parse(token)))
          assert.notInclude(String(token), Redacted.value(token))
        }
        assert.deepStrictEqual(Object.keys(listed[0]!).sort(), [
          "createdAt", "expiresAt", "hint", "id", "lastUsedAt", "name", "organizationId", "rateLimit", "removed", "replacedBy", "revokedAt", "scopes", "userId"
        ])
        assert.deepStrictEqual(listed.map((t) => t.removed), [false, false])
      }))

    it.effect("a revoked token fails on the next request; revoke is scoped to its owner", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const fixture = yield* Fixture
        const owner = yield* fixture.createUser
        const other = yield* fixture.createUser
        const { info, token } = yield* store.create({ userId: owner.id, name: "ci" })
        const notYours = yield* failure(store.revoke(other.id, info.id))
        assert.deepStrictEqual(notYours, new TokenNotFound({ tokenId: info.id }))
        assert.strictEqual((yield* store.verify(parse(token))).user.id, owner.id)
        yield* store.revoke(owner.id, info.id)
        const refused = yield* failure(store.verify(parse(token)))
        assert.deepStrictEqual(refused, new InvalidToken({ reason: "revoked", tokenId: info.id }))
        const [listed] = yield* store.list(owner.id)
        assert.isNotNull(listed!.revokedAt)
        yield* store.revoke(owner.id, info.id) // revoking twice is not an error and keeps the first time
        assert.deepStrictEqual((yield* store.list(owner.id))[0]!.revokedAt, listed!.revokedAt)
        const unknown = yield* failure(store.revoke(owner.id, "no-such-token"))
        assert.deepStrictEqual(unknown, new TokenNotFound({ tokenId: "no-such-token" }))
      }))

    it.effect("an expiring token works until 1 ms before its expiry and fails at it", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const user = yield* (yield* Fixture).createUser
        yield* TestClock.setTime(10_000_000)
        const { token, info } = yield* store.create({ userId: user.id, name: "short", expiresAt: new Date(10_060_000) })
        yield* TestClock.setTime(10_059_999)
        assert.strictEqual((yield* store.verify(parse(token))).tokenId, info.id)
        yield* TestClock.setTime(10_060_000)
        assert.deepStrictEqual(
          yield* failure(store.verify(parse(token))),
          new InvalidToken({ reason: "expired", tokenId: info.id })
        )
        yield* TestClock.setTime(10_060_001)
        assert.strictEqual((yield* failure(store.verify(parse(token))))._tag, "InvalidToken")
      }))

    it.effect("a well-formed token that was never issued is unknown", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        assert.deepStrictEqual(
          yield* failure(store.verify(ApiToken.generate())),
          new InvalidToken({ reason: "unknown" })
        )
      }))

    it.effect("a token of one user never resolves to another", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const fixture = yield* Fixture
        const users = yield* Effect.all([fixture.createUser, fixture.createUser, fixture.createUser])
        const tokens = yield* Effect.forEach(users, (u) =>
          Effect.forEach([1, 2], (i) => store.create({ userId: u.id, name: `t${i}` })))
        for (const [i, user] of users.entries()) {
          for (const { token } of tokens[i]!) {
            assert.strictEqual((yield* store.verify(parse(token))).user.id, user.id)
          }
          assert.deepStrictEqual(
            (yield* store.list(user.id)).map((t) => t.id).sort(),
            tokens[i]!.map((t) => t.info.id).sort()
          )
        }
      }))

    it.effect("a deactivated owner comes back from verify for the resolver to refuse, unnoted; reactivation clears it", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const users = yield* Users
        const lastUsed = yield* LastUsed
        const user = yield* (yield* Fixture).createUser
        const { token } = yield* store.create({ userId: user.id, name: "ci" })
        assert.strictEqual(yield* users.status(user.id), "active")
        yield* users.deactivate(user.id)
        assert.strictEqual(yield* users.status(user.id), "deactivated")
        const refused = yield* store.verify(parse(token))
        assert.strictEqual(refused.user.id, user.id)
        assert.instanceOf(refused.user.deactivatedAt, Date)
        yield* lastUsed.flush
        assert.isNull((yield* store.list(user.id))[0]!.lastUsedAt, "a refused use was noted as a use")
        yield* users.reactivate(user.id)
        const verified = yield* store.verify(parse(token))
        assert.strictEqual(verified.user.id, user.id)
        assert.isNull(verified.user.deactivatedAt)
        yield* lastUsed.flush
        assert.isNotNull((yield* store.list(user.id))[0]!.lastUsedAt)
        assert.strictEqual(yield* users.status("nobody"), "missing")
        assert.deepStrictEqual(yield* Effect.flip(users.deactivate("nobody")), new UserNotFound({ userId: "nobody" }))
        assert.deepStrictEqual(yield* Effect.flip(users.reactivate("nobody")), new UserNotFound({ userId: "nobody" }))
      }))

    it.effect("bad input is refused with the field named, and nothing is stored", () =>
      Effect.gen(function*() {
        const store = yield* TokenStore
        const user = yield* (yield* Fixture).createUser
        yield* TestClock.setTime(5_000)
        const cases = [
          [{ userId: user.id, name: "" }, "name"],
          [{ userId: user.id, name: "   " }, "name"],
          [{ userId: user.id, name: "x".repeat(101) }, "name"],
          [{ userId: user.id, name: "ok", expiresAt: new Date(5_000) }, "expiresAt"],
          [{ userId: user.id, name: "ok", expiresAt: new Date(Number.NaN) }, "expiresAt"]
        ] as const
        for (const [input, field] of cases) {
          const error = yield* failure(store.create(input))
          assert.instanceOf(error, InvalidTokenInput)
          assert.strictEqual((error as InvalidTokenInput).field, field)
        }
        const missing = yield* failure(store.create({ userId: "no-such-user", name: "ci" }))
        assert.deepStrictEqual(missing, new UserNotFound({ userId: "no-such-user" }))
        assert.deepStrictEqual(yield* store.list(user.id), [])
        assert.deepStrictEqual(yield* store.list("no-such-user"), [])
      }))

    it.effect("a secret-keyed store digests with HMAC: tokens of one key do not verify under another", () =>
      Effect.gen(function*() {
        const token = ApiToken.generate()
        const plain = ApiToken.digest(token)
        const keyed = ApiToken.digest(token, Redacted.make("server-secret"))
        assert.notStrictEqual(plain, keyed)
        assert.match(keyed, /^[0-9a-f]{64}$/)
      }))
  })

contract("memory", memoryStores, false)
for (const backend of sqlBackends) contract(backend.name, sqlStores(backend), true)

describe("backends", () => {
  it("runs the contract on every backend this environment has", () => {
    assert.includeMembers(sqlBackends.map((b) => b.name), process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"])
  })
})
