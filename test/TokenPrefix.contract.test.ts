/**
 * The app's own token prefix, on every backend: tokens minted with it verify in one statement;
 * after a change of prefix, tokens of the old one keep working (listed as legacy) until they
 * expire; `revokeLeaked` holds for any accepted prefix and keeps the token out of the audit trail.
 */
import { assert, layer } from "@effect/vitest"
import { Clock, Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { ApiToken, AuditLog } from "../src/effect.ts"
import { InvalidToken, TokenNotFound } from "../src/index.ts"
import { sqlBackends } from "./support/databases.ts"
import { Fixture, memoryStores, type StoreLayer, sqlStores } from "./support/stores.ts"

const acme = ApiToken.format("acme_")
const moved = ApiToken.format("acme_", ["sk_live_"])
const DAY = 86_400_000

const contract = (name: string, stores: StoreLayer, sqlBacked: boolean) =>
  layer(stores, { timeout: 120_000 })(`token prefix: ${name}`, (it) => {
    it.effect("tokens get the app's prefix, checksum and hint, and verify in one statement with no write", () =>
      Effect.gen(function*() {
        const fixture = yield* Fixture
        const store = yield* fixture.storeWith({ prefix: "acme_" })
        const user = yield* fixture.createUser
        const { token, info } = yield* store.create({ userId: user.id, name: "acme ci", scopes: ["read"] })
        const value = Redacted.value(token)
        assert.match(value, /^acme_[0-9A-Za-z]{38}$/)
        assert.strictEqual(info.hint, `acme_…${value.slice(-4)}`)
        yield* fixture.statements
        const verified = yield* store.verify(acme.parse(value)!)
        assert.deepStrictEqual([verified.tokenId, verified.user.id, verified.scopes], [info.id, user.id, ["read"]])
        const statements = yield* fixture.statements
        assert.strictEqual(statements.length, sqlBacked ? 1 : 0)
        assert.isFalse(statements.some((s) => s.write))
        // The default format does not accept it: an app that forgets its prefix refuses its tokens unread.
        assert.isUndefined(ApiToken.parse(value))
      }))

    it.effect("after a change of prefix, a token of the old one works until its expiry when the old prefix is listed", () =>
      Effect.gen(function*() {
        const fixture = yield* Fixture
        const before = yield* fixture.storeWith({})
        const user = yield* fixture.createUser
        const now = yield* Clock.currentTimeMillis
        const old = yield* before.create({ userId: user.id, name: "old", expiresAt: new Date(now + 2 * DAY) })
        const oldValue = Redacted.value(old.token)
        assert.match(oldValue, /^sk_live_/)

        const after = yield* fixture.storeWith({ prefix: "acme_", legacyPrefixes: ["sk_live_"] })
        const fresh = yield* after.create({ userId: user.id, name: "new" })
        assert.match(Redacted.value(fresh.token), /^acme_/)
        assert.strictEqual((yield* after.verify(moved.parse(oldValue)!)).tokenId, old.info.id)
        assert.strictEqual((yield* after.verify(moved.parse(Redacted.value(fresh.token))!)).tokenId, fresh.info.id)
        // Without the old prefix listed, the old token is malformed: refused before any I/O.
        assert.isUndefined(acme.parse(oldValue))

        yield* TestClock.adjust(2 * DAY)
        assert.deepStrictEqual(yield* Effect.flip(after.verify(moved.parse(oldValue)!)), new InvalidToken({ reason: "expired", tokenId: old.info.id }))
        assert.strictEqual((yield* after.verify(moved.parse(Redacted.value(fresh.token))!)).tokenId, fresh.info.id)
      }))

    it.effect("revokeLeaked holds for every accepted prefix; the audit event has where it was found, never the token", () =>
      Effect.gen(function*() {
        const fixture = yield* Fixture
        const before = yield* fixture.storeWith({})
        const store = yield* fixture.storeWith({ prefix: "acme_", legacyPrefixes: ["sk_live_"] })
        const user = yield* fixture.createUser
        const legacy = Redacted.value((yield* before.create({ userId: user.id, name: "legacy" })).token)
        const current = Redacted.value((yield* store.create({ userId: user.id, name: "current" })).token)
        for (const value of [legacy, current]) {
          const note = `github commit https://github.com/o/r/blob/1/.env?t=${value}`
          const revoked = yield* store.revokeLeaked(moved.parse(value)!, "github-secret-scanning", note)
          assert.isNotNull(revoked.revokedAt)
          assert.deepStrictEqual(yield* Effect.flip(store.verify(moved.parse(value)!)), new InvalidToken({ reason: "revoked", tokenId: revoked.id }))
        }
        const events = (yield* AuditLog.use((log) => log.list({ userId: user.id }))).filter((e) => e.action === "token.revoked_leaked")
        assert.strictEqual(events.length, 2)
        for (const [event, value] of [[events[0]!, current], [events[1]!, legacy]] as const) {
          assert.strictEqual(event.actorId, "github-secret-scanning")
          assert.include(event.detail, "github commit https://github.com/o/r/blob/1/.env?t=")
          assert.include(event.detail, `${value.slice(0, -38)}…${value.slice(-4)}`)
          assert.notInclude(event.detail, value)
        }
        // A well-formed token of an accepted prefix that was never issued: not found, named by its hint only.
        const stranger = acme.generate()
        const missing = yield* Effect.flip(store.revokeLeaked(stranger))
        assert.deepStrictEqual(missing, new TokenNotFound({ tokenId: ApiToken.hint(stranger) }))
      }))
  })

contract("memory", memoryStores, false)
for (const backend of sqlBackends) contract(backend.name, sqlStores(backend), true)
