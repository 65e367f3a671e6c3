/**
 * API tokens as a product, on every backend: scopes within the owner's rights, expiry policy,
 * rotation with a grace period, lastUsedAt off the request path, revocation of a leaked
 * value, the audit trail, and limits — each refused with the field named, nothing half-written.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { ApiToken, AuditLog, TokenStore, Users } from "../src/effect.ts"
import { ImpersonationRefused, InsufficientScope, InvalidToken, InvalidTokenInput, MANAGE_TOKENS, type Session, TokenNotFound, type User } from "../src/index.ts"

import { LastUsed } from "../src/services/LastUsed.ts"
import { sqlBackends } from "./support/databases.ts"
import { Fixture, memoryStores, type StoreLayer, sqlStores } from "./support/stores.ts"

const parse = (token: Redacted.Redacted<string>) => ApiToken.parse(Redacted.value(token))!
const DAY = 86_400_000
/** The block shares one TestClock: each test works relative to where it finds it. */
const start = Effect.map(Clock.currentTimeMillis, (now) => now + 1000)

const reasonOf = (error: unknown) => (error as InvalidToken).reason
const problemOf = (error: unknown) => (error as InvalidTokenInput).problem
const refusedField = (error: unknown) => {
  assert.instanceOf(error, InvalidTokenInput)
  return (error as InvalidTokenInput).field
}

const contract = (name: string, stores: StoreLayer, sqlBacked: boolean) =>
  layer(stores, { timeout: 120_000 })(`API tokens as a product: ${name}`, (it) => {
    describe("scopes", () => {
      it.effect("a token carries the scopes asked for, within what its owner may grant", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const fixture = yield* Fixture
          const member = yield* fixture.createUser
          const { token } = yield* store.create({ userId: member.id, name: "ro", scopes: ["read", "read"] })
          assert.deepStrictEqual((yield* store.verify(parse(token))).scopes, ["read"])
          const beyond = yield* Effect.flip(store.create({ userId: member.id, name: "x", scopes: ["read", "admin:users"] }))
          assert.strictEqual(refusedField(beyond), "scopes")
          assert.match((beyond as InvalidTokenInput).problem, /may not grant admin:users/)
          const unknown = yield* Effect.flip(store.create({ userId: member.id, name: "x", scopes: ["delete"] }))
          assert.strictEqual(refusedField(unknown), "scopes")
          assert.match((unknown as InvalidTokenInput).problem, /unknown scope "delete"/)
          assert.strictEqual((yield* store.list(member.id)).length, 1)
        }))

      it.effect("a demoted owner's existing tokens lose the rights the owner lost, on the next request", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const fixture = yield* Fixture
          const admin = yield* fixture.createAdmin
          const { token } = yield* store.create({ userId: admin.id, name: "ops", scopes: ["read", "admin:users"] })
          assert.deepStrictEqual((yield* store.verify(parse(token))).scopes, ["read", "admin:users"])
          yield* fixture.setRole(admin.id, "member")
          assert.deepStrictEqual((yield* store.verify(parse(token))).scopes, ["read"])
          yield* fixture.setRole(admin.id, "admin")
          assert.deepStrictEqual((yield* store.verify(parse(token))).scopes, ["read", "admin:users"])
        }))
    })

    describe("minting as a signed-in caller", () => {
      it.effect("a token caller mints only within its own token's scopes; a cookie caller up to what the user may grant", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const admin = yield* (yield* Fixture).createAdmin
          const { token } = yield* store.create({ userId: admin.id, name: "read only", scopes: ["read", MANAGE_TOKENS] })
          const verified = yield* store.verify(parse(token))
          const viaToken = { user: verified.user, session: null, scopes: verified.scopes, tokenId: verified.tokenId }
          const refused = yield* Effect.flip(store.create({ caller: viaToken, name: "escalate", scopes: ["admin:users"] }))
          assert.deepStrictEqual(refused, new InsufficientScope({ scope: "admin:users", credential: "token" }))
          const within = yield* store.create({ caller: viaToken, name: "narrower", scopes: ["read"] })
          assert.deepStrictEqual([within.info.userId, within.info.scopes], [admin.id, ["read"]])

          const viaCookie = { ...viaToken, session: { id: "s", userId: admin.id, token: "t", expiresAt: new Date(), createdAt: new Date(), updatedAt: new Date() }, scopes: ["read", "write", "admin:users"] }
          const minted = yield* store.create({ caller: viaCookie, name: "ops", scopes: ["read", "admin:users"] })
          assert.deepStrictEqual(minted.info.scopes, ["read", "admin:users"])
          assert.deepStrictEqual((yield* store.list(admin.id)).map((t) => t.name).sort(), ["narrower", "ops", "read only"])
        }))
    })

    describe("rotating as a signed-in caller", () => {
      it.effect("a token caller rotates only a token whose scopes it holds; a cookie caller any of its user's", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const fixture = yield* Fixture
          const admin = yield* fixture.createAdmin
          const other = yield* fixture.createUser
          const readOnly = yield* store.create({ userId: admin.id, name: "ro", scopes: ["read", MANAGE_TOKENS] })
          const ops = yield* store.create({ userId: admin.id, name: "ops", scopes: ["read", "admin:users"] })
          const verified = yield* store.verify(parse(readOnly.token))
          const viaToken = { user: verified.user, session: null, scopes: verified.scopes, tokenId: verified.tokenId }
          const refused = yield* Effect.flip(store.rotate({ caller: viaToken, tokenId: ops.info.id }))
          assert.deepStrictEqual(refused, new InsufficientScope({ scope: "admin:users", credential: "token" }))
          assert.isNull((yield* store.list(admin.id)).find((t) => t.id === ops.info.id)!.replacedBy, "nothing rotated")
          const within = yield* store.create({ userId: admin.id, name: "within", scopes: ["read"] })
          const rotatedWithin = yield* store.rotate({ caller: viaToken, tokenId: within.info.id })
          assert.deepStrictEqual([rotatedWithin.info.userId, rotatedWithin.info.scopes], [admin.id, ["read"]])
          // Not itself: its successor would outlive it, so a leaked token could rotate itself away from its revocation.
          const itself = yield* Effect.flip(store.rotate({ caller: viaToken, tokenId: readOnly.info.id }))
          assert.deepStrictEqual([refusedField(itself), problemOf(itself)], ["tokenId", "is the presenting token or an ancestor of it"])
          assert.isNull((yield* store.list(admin.id)).find((t) => t.id === readOnly.info.id)!.replacedBy, "nothing rotated")

          const viaCookie = { ...viaToken, session: { id: "s", userId: admin.id, token: "t", expiresAt: new Date(), createdAt: new Date(), updatedAt: new Date() }, scopes: ["read", "write", "admin:users"] }
          assert.deepStrictEqual((yield* store.rotate({ caller: viaCookie, tokenId: ops.info.id })).info.scopes, ["read", "admin:users"])
          const theirs = yield* store.create({ userId: other.id, name: "theirs" })
          const notFound = yield* Effect.flip(store.rotate({ caller: viaCookie, tokenId: theirs.info.id }))
          assert.deepStrictEqual(notFound, new TokenNotFound({ tokenId: theirs.info.id }))
        }))
    })

    describe("expiry policy", () => {
      it.effect("without an expiry a token gets the maximum lifetime; beyond it is refused; at it is allowed", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const defaulted = yield* store.create({ userId: user.id, name: "default" })
          assert.deepStrictEqual(defaulted.info.expiresAt, new Date((t0 + 30 * DAY)))
          const atMax = yield* store.create({ userId: user.id, name: "max", expiresAt: new Date((t0 + 30 * DAY)) })
          assert.deepStrictEqual(atMax.info.expiresAt, new Date((t0 + 30 * DAY)))
          const beyond = yield* Effect.flip(store.create({ userId: user.id, name: "too long", expiresAt: new Date((t0 + 30 * DAY) + 1) }))
          assert.strictEqual(refusedField(beyond), "expiresAt")
          assert.match((beyond as InvalidTokenInput).problem, /maximum lifetime of 30d/)
          yield* TestClock.setTime((t0 + 30 * DAY) - 1)
          assert.strictEqual((yield* store.verify(parse(defaulted.token))).tokenId, defaulted.info.id)
          yield* TestClock.setTime((t0 + 30 * DAY))
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(defaulted.token)))), "expired")
        }))
    })

    describe("rotation", () => {
      it.effect("the new secret works at once; the old one until the grace period ends, to the millisecond", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const admin = yield* (yield* Fixture).createAdmin
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const old = yield* store.create({ userId: admin.id, name: "deploy", scopes: ["write", "admin:users"], expiresAt: new Date((t0 + 7 * DAY)) })
          yield* TestClock.setTime((t0 + DAY))
          const next = yield* store.rotate({ userId: admin.id, tokenId: old.info.id, gracePeriod: "10 minutes" })
          assert.notStrictEqual(Redacted.value(next.token), Redacted.value(old.token))
          assert.deepStrictEqual(next.info.scopes, ["write", "admin:users"])
          assert.strictEqual(next.info.name, "deploy")
          assert.deepStrictEqual(next.info.expiresAt, new Date((t0 + 8 * DAY)), "the old lifetime again, from now")
          const listed = yield* store.list(admin.id)
          const oldNow = listed.find((t) => t.id === old.info.id)!
          assert.strictEqual(oldNow.replacedBy, next.info.id)
          assert.deepStrictEqual(oldNow.expiresAt, new Date((t0 + DAY) + 600_000))
          yield* TestClock.setTime((t0 + DAY) + 599_999)
          assert.strictEqual((yield* store.verify(parse(old.token))).tokenId, old.info.id)
          assert.strictEqual((yield* store.verify(parse(next.token))).tokenId, next.info.id)
          yield* TestClock.setTime((t0 + DAY) + 600_000)
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(old.token)))), "expired")
          assert.strictEqual((yield* store.verify(parse(next.token))).tokenId, next.info.id)
        }))

      it.effect("the grace period never outlives the old token's own expiry; zero grace ends it now", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const short = yield* store.create({ userId: user.id, name: "short", expiresAt: new Date(t0 + 300_000) })
          yield* store.rotate({ userId: user.id, tokenId: short.info.id, gracePeriod: "1 hour" })
          yield* TestClock.setTime(t0 + 300_000)
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(short.token)))), "expired")
          const other = yield* store.create({ userId: user.id, name: "other" })
          yield* store.rotate({ userId: user.id, tokenId: other.info.id })
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(other.token)))), "expired")
        }))

      it.effect("a revoked, already rotated, or someone else's token cannot be rotated", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const fixture = yield* Fixture
          const user = yield* fixture.createUser
          const stranger = yield* fixture.createUser
          const a = yield* store.create({ userId: user.id, name: "a" })
          yield* store.revoke(user.id, a.info.id)
          assert.match(problemOf(yield* Effect.flip(store.rotate({ userId: user.id, tokenId: a.info.id }))), /revoked/)
          const b = yield* store.create({ userId: user.id, name: "b" })
          yield* store.rotate({ userId: user.id, tokenId: b.info.id, gracePeriod: "1 minute" })
          assert.match(problemOf(yield* Effect.flip(store.rotate({ userId: user.id, tokenId: b.info.id }))), /already rotated/)
          assert.deepStrictEqual(
            yield* Effect.flip(store.rotate({ userId: stranger.id, tokenId: b.info.id })),
            new TokenNotFound({ tokenId: b.info.id })
          )
          assert.strictEqual(refusedField(yield* Effect.flip(store.rotate({ userId: user.id, tokenId: b.info.id, gracePeriod: -1 }))), "gracePeriod")
        }))
    })

    describe("last used", () => {
      it.effect("verifying writes nothing; lastUsedAt appears after the interval's flush and only moves forward", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const lastUsed = yield* LastUsed
          const fixture = yield* Fixture
          const user = yield* fixture.createUser
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const { token, info } = yield* store.create({ userId: user.id, name: "ci" })
          yield* fixture.statements
          yield* store.verify(parse(token))
          const onRequest = yield* fixture.statements
          assert.isFalse(onRequest.some((s) => s.write), "a write on the request path")
          assert.isNull((yield* store.list(user.id))[0]!.lastUsedAt)
          yield* lastUsed.flush
          assert.deepStrictEqual((yield* store.list(user.id))[0]!.lastUsedAt, new Date(t0))
          yield* lastUsed.touch(info.id, null, t0 - 5_000) // an older, stale use reported late
          yield* lastUsed.flush
          assert.deepStrictEqual((yield* store.list(user.id))[0]!.lastUsedAt, new Date(t0), "never moves back")
        }))

      it.effect("1,000 requests a second on one token for three minutes cost at most one write a minute", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const fixture = yield* Fixture
          const user = yield* fixture.createUser
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const { token } = yield* store.create({ userId: user.id, name: "busy" })
          const parsed = parse(token)
          yield* fixture.statements
          let requests = 0
          for (let second = 0; second < 180; second++) {
            const burst = second % 20 === 0 ? 1000 : 5 // every 20th second at full rate, the rest sampled
            for (let i = 0; i < burst; i++) yield* store.verify(parsed)
            requests += burst
            yield* TestClock.adjust(1000)
          }
          yield* (yield* LastUsed).flush
          const statements = yield* fixture.statements
          const writes = statements.filter((s) => s.write)
          if (sqlBacked) {
            assert.strictEqual(statements.length - writes.length, requests, "one read per request")
            assert.isAtLeast(writes.length, 2)
            assert.isAtMost(writes.length, 4, `writes in 3 minutes: ${writes.length}`) // one per minute, plus the final flush
          }
          const [listed] = yield* store.list(user.id)
          assert.isAtLeast(listed!.lastUsedAt!.getTime(), t0 + 120_000)
        }), { timeout: 120_000 })
    })

    describe("leak response", () => {
      it.effect("a leaked value is revoked without knowing its owner or id, and recorded as such", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const audit = yield* AuditLog
          const user = yield* (yield* Fixture).createUser
          const { token, info } = yield* store.create({ userId: user.id, name: "pasted in a gist" })
          const found = ApiToken.find(`oops: curl -H "Authorization: Bearer ${Redacted.value(token)}" https://…`)
          assert.strictEqual(found.length, 1)
          const revoked = yield* store.revokeLeaked(found[0]!.token, "secret-scanner")
          assert.strictEqual(revoked.id, info.id)
          assert.strictEqual(revoked.userId, user.id)
          assert.isNotNull(revoked.revokedAt)
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(token)))), "revoked")
          const [event] = yield* audit.list({ userId: user.id, limit: 1 })
          assert.strictEqual(event!.action, "token.revoked_leaked")
          assert.strictEqual(event!.actorId, "secret-scanner")
          const unknown = ApiToken.generate()
          const missing = yield* Effect.flip(store.revokeLeaked(unknown))
          assert.instanceOf(missing, TokenNotFound)
          assert.notInclude(JSON.stringify(missing) + String(missing), Redacted.value(unknown))
        }))
    })

    describe("lineage: a token cannot outlive the credential that made it", () => {
      /** The session a request with this token resolves to (what the token endpoints pass as `caller`). */
      const asToken = (token: Redacted.Redacted<string>) =>
        Effect.map(TokenStore.use((store) => store.verify(parse(token))), (v): Session => ({
          user: v.user,
          session: null,
          scopes: v.scopes,
          tokenId: v.tokenId
        }))
      const asCookie = (user: User, extra: Record<string, unknown> = {}): Session => ({
        user,
        session: { id: "s1", userId: user.id, token: "t", expiresAt: new Date(), createdAt: new Date(), updatedAt: new Date(), ...extra },
        scopes: ["read", "write", MANAGE_TOKENS]
      })

      it.effect("managing tokens with a token needs tokens:manage, which no token has unless asked for by name", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const plain = yield* store.create({ userId: user.id, name: "plain", scopes: ["read", "write"] })
          const viaPlain = yield* asToken(plain.token)
          assert.notInclude(viaPlain.scopes, MANAGE_TOKENS)
          const refused = yield* Effect.flip(store.create({ caller: viaPlain, name: "child", scopes: ["read"] }))
          assert.deepStrictEqual(refused, new InsufficientScope({ scope: MANAGE_TOKENS, credential: "token" }))
          assert.deepStrictEqual(
            yield* Effect.flip(store.rotate({ caller: viaPlain, tokenId: plain.info.id })),
            new InsufficientScope({ scope: MANAGE_TOKENS, credential: "token" })
          )
          assert.deepStrictEqual((yield* store.list(user.id)).map((t) => t.name), ["plain"], "nothing written")
          const minted = yield* store.create({ caller: asCookie(user), name: "by cookie", scopes: ["read"] })
          assert.deepStrictEqual(minted.info.scopes, ["read"], "a cookie session manages without the scope")
        }))

      it.effect("a token minted by a token never expires after it, and revoking it revokes every descendant at once", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const audit = yield* AuditLog
          const user = yield* (yield* Fixture).createUser
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const parent = yield* store.create({ userId: user.id, name: "parent", scopes: ["read", MANAGE_TOKENS], expiresAt: new Date(t0 + 3 * DAY) })
          const child = yield* store.create({ caller: yield* asToken(parent.token), name: "child", scopes: ["read", MANAGE_TOKENS] })
          assert.deepStrictEqual(child.info.expiresAt, new Date(t0 + 3 * DAY), "the policy's 30 days, bounded by the parent")
          const grandchild = yield* store.create({ caller: yield* asToken(child.token), name: "grandchild", scopes: ["read"] })
          const sibling = yield* store.create({ userId: user.id, name: "unrelated" })
          yield* TestClock.adjust(1)
          yield* store.revoke(user.id, parent.info.id)
          for (const { token, info } of [parent, child, grandchild]) {
            assert.deepStrictEqual(yield* Effect.flip(store.verify(parse(token))), new InvalidToken({ reason: "revoked", tokenId: info.id }))
          }
          assert.strictEqual((yield* store.verify(parse(sibling.token))).tokenId, sibling.info.id)
          const events = (yield* audit.list({ userId: user.id })).filter((e) => e.action === "token.revoked")
          assert.sameMembers(events.map((e) => e.tokenId), [parent.info.id, child.info.id, grandchild.info.id])
          assert.include(events.find((e) => e.tokenId === grandchild.info.id)!.detail, `with its ancestor ${parent.info.id}`)
        }))

      it.effect("revoking a leaked token, by value, revokes what it minted", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const leaked = yield* store.create({ userId: user.id, name: "leaked", scopes: [MANAGE_TOKENS] })
          const minted = yield* store.create({ caller: yield* asToken(leaked.token), name: "minted by the thief" })
          yield* store.revokeLeaked(parse(leaked.token), "github-secret-scanning")
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(minted.token)))), "revoked")
        }))

      it.effect("rotation: what the old token minted ends with its grace; a token that rotates another bounds the successor", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const t0 = yield* start
          yield* TestClock.setTime(t0)
          const old = yield* store.create({ userId: user.id, name: "old", scopes: ["read", MANAGE_TOKENS] })
          const child = yield* store.create({ caller: yield* asToken(old.token), name: "child", scopes: ["read"] })
          const next = yield* store.rotate({ caller: asCookie(user), tokenId: old.info.id, gracePeriod: "1 hour" })
          const listed = yield* store.list(user.id)
          assert.deepStrictEqual(listed.find((t) => t.id === child.info.id)!.expiresAt, new Date(t0 + 3_600_000))
          yield* TestClock.setTime(t0 + 3_599_999)
          assert.strictEqual((yield* store.verify(parse(child.token))).tokenId, child.info.id)
          yield* TestClock.setTime(t0 + 3_600_000)
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(child.token)))), "expired")
          assert.strictEqual((yield* store.verify(parse(next.token))).tokenId, next.info.id, "the successor is not a child")

          const manager = yield* store.create({ userId: user.id, name: "manager", scopes: ["read", MANAGE_TOKENS], expiresAt: new Date(t0 + DAY) })
          const target = yield* store.create({ userId: user.id, name: "target", scopes: ["read"] })
          const successor = yield* store.rotate({ caller: yield* asToken(manager.token), tokenId: target.info.id })
          assert.deepStrictEqual(successor.info.expiresAt, new Date(t0 + DAY), "bounded by the token that rotated it")
          yield* store.revoke(user.id, manager.info.id)
          assert.strictEqual(reasonOf(yield* Effect.flip(store.verify(parse(successor.token)))), "revoked")

          // A child cannot rotate its own ancestor: the successor would outlive it, or die with the old token.
          const ancestor = yield* store.create({ userId: user.id, name: "ancestor", scopes: [MANAGE_TOKENS] })
          const descendant = yield* store.create({ caller: yield* asToken(ancestor.token), name: "descendant", scopes: [MANAGE_TOKENS] })
          const refused = yield* Effect.flip(store.rotate({ caller: yield* asToken(descendant.token), tokenId: ancestor.info.id }))
          assert.deepStrictEqual([refusedField(refused), problemOf(refused)], ["tokenId", "is the presenting token or an ancestor of it"])
          assert.isNull((yield* store.list(user.id)).find((t) => t.id === ancestor.info.id)!.replacedBy, "nothing rotated")
        }))

      it.effect("a session under impersonation can neither mint nor rotate; the audit trail names the acting credential", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const audit = yield* AuditLog
          const user = yield* (yield* Fixture).createUser
          const own = yield* store.create({ userId: user.id, name: "own", scopes: [MANAGE_TOKENS] })
          const impersonated = asCookie(user, { impersonatedBy: "admin-1" })
          assert.deepStrictEqual(yield* Effect.flip(store.create({ caller: impersonated, name: "x" })), new ImpersonationRefused({ action: "create" }))
          assert.deepStrictEqual(
            yield* Effect.flip(store.rotate({ caller: impersonated, tokenId: own.info.id })),
            new ImpersonationRefused({ action: "rotate" })
          )
          assert.deepStrictEqual((yield* store.list(user.id)).map((t) => [t.name, t.replacedBy]), [["own", null]], "nothing written")
          yield* TestClock.adjust(1)
          const viaToken = yield* store.create({ caller: yield* asToken(own.token), name: "via token" })
          yield* TestClock.adjust(1)
          const viaCookie = yield* store.create({ caller: asCookie(user), name: "via cookie" })
          yield* TestClock.adjust(1)
          yield* store.revoke(user.id, viaCookie.info.id, user.id, `token:${own.info.id}`)
          const credentials = (yield* audit.list({ userId: user.id })).map((e) => [e.action, e.tokenId, e.actorCredential]).toReversed()
          assert.deepStrictEqual(credentials, [
            ["token.created", own.info.id, null],
            ["token.created", viaToken.info.id, `token:${own.info.id}`],
            ["token.created", viaCookie.info.id, "session:s1"],
            ["token.revoked", viaCookie.info.id, `token:${own.info.id}`]
          ])
        }))

      it.effect("nothing is minted or rotated for a deactivated user; reactivated, it is", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const users = yield* Users
          const user = yield* (yield* Fixture).createUser
          const before = yield* store.create({ userId: user.id, name: "before" })
          yield* users.deactivate(user.id)
          const refused = yield* Effect.flip(store.create({ userId: user.id, name: "x" }))
          assert.deepStrictEqual([refusedField(refused), problemOf(refused)], ["userId", "the user is deactivated"])
          assert.strictEqual(refusedField(yield* Effect.flip(store.rotate({ userId: user.id, tokenId: before.info.id }))), "userId")
          assert.strictEqual((yield* store.list(user.id)).length, 1, "nothing written")
          yield* users.reactivate(user.id)
          yield* store.create({ userId: user.id, name: "after" })
        }))
    })

    describe("audit trail", () => {
      it.effect("records who created, rotated, revoked and (de)activated, never a secret", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const users = yield* Users
          const audit = yield* AuditLog
          const user = yield* (yield* Fixture).createUser
          const a = yield* store.create({ userId: user.id, name: "a" })
          yield* TestClock.adjust(1)
          const b = yield* store.rotate({ userId: user.id, tokenId: a.info.id, gracePeriod: "1 minute" })
          yield* TestClock.adjust(1)
          yield* store.revoke(user.id, b.info.id)
          yield* TestClock.adjust(1)
          yield* users.deactivate(user.id, "admin-1")
          yield* users.deactivate(user.id, "admin-1") // already: no second event
          yield* TestClock.adjust(1)
          yield* users.reactivate(user.id, "admin-2")
          const events = yield* audit.list({ userId: user.id })
          assert.deepStrictEqual(events.map((e) => [e.action, e.actorId]).toReversed(), [
            ["token.created", user.id],
            ["token.rotated", user.id],
            ["token.revoked", user.id],
            ["user.deactivated", "admin-1"],
            ["user.reactivated", "admin-2"]
          ])
          const text = JSON.stringify(events)
          for (const { token } of [a, b]) {
            assert.notInclude(text, Redacted.value(token))
            assert.notInclude(text, ApiToken.digest(parse(token)))
          }
          assert.include(text, a.info.hint)
        }))
    })

    describe("limits and bad input", () => {
      it.effect("names with control characters and users over the live-token limit are refused, naming the field", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          for (const name of ["line\nbreak", "tab\there", "nul\u0000", "bidi\u202eevil"]) {
            assert.strictEqual(refusedField(yield* Effect.flip(store.create({ userId: user.id, name }))), "name")
          }
          const made = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => store.create({ userId: user.id, name: `t${i}` }))
          const sixth = yield* Effect.flip(store.create({ userId: user.id, name: "t6" }))
          assert.strictEqual(refusedField(sixth), "userId")
          assert.match((sixth as InvalidTokenInput).problem, /5 live tokens/)
          assert.strictEqual((yield* store.list(user.id)).length, 5, "nothing half-written")
          yield* store.revoke(user.id, made[0]!.info.id)
          yield* store.create({ userId: user.id, name: "t6" })
        }))

      it.effect("rotation keeps to the live-token limit: a grace that keeps the old token live needs room; no grace swaps in place", () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const live = () =>
            Effect.zipWith(store.list(user.id), Clock.currentTimeMillis, (all, now) =>
              all.filter((t) => t.revokedAt === null && (t.expiresAt === null || t.expiresAt.getTime() > now)).length)
          const four = yield* Effect.forEach([1, 2, 3, 4], (i) => store.create({ userId: user.id, name: `t${i}` }))
          // Room for one: a rotation with a grace leaves 5 live (the old token until its grace ends, and its successor).
          const next = yield* store.rotate({ userId: user.id, tokenId: four[0]!.info.id, gracePeriod: "100 days" })
          assert.strictEqual(yield* live(), 5)
          // At the limit, a grace would make 6: refused, and nothing rotated. Chaining rotations cannot mint past the limit.
          for (const tokenId of [next.info.id, four[1]!.info.id]) {
            const refused = yield* Effect.flip(store.rotate({ userId: user.id, tokenId, gracePeriod: "100 days" }))
            assert.strictEqual(refusedField(refused), "userId")
            assert.match(problemOf(refused), /5 live tokens, the most allowed; rotate with no grace period/)
            assert.isNull((yield* store.list(user.id)).find((t) => t.id === tokenId)!.replacedBy, "nothing rotated")
          }
          assert.strictEqual((yield* store.list(user.id)).length, 5, "nothing half-written")
          // With no grace the old token ends as its successor starts: allowed at the limit, still 5 live.
          const swapped = yield* store.rotate({ userId: user.id, tokenId: four[1]!.info.id })
          assert.strictEqual(yield* live(), 5)
          assert.strictEqual((yield* store.list(user.id)).find((t) => t.id === four[1]!.info.id)!.replacedBy, swapped.info.id)
        }))

      it.effect(`concurrent creates never exceed the limit${name === "postgres" ? "" : ` (${name} runs one statement at a time: only the Postgres run can race)`}`, () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const results = yield* Effect.forEach(
            Array.from({ length: 12 }, (_, i) => i),
            (i) => Effect.result(store.create({ userId: user.id, name: `race ${i}` })),
            { concurrency: 12 }
          )
          assert.strictEqual(results.filter((r) => r._tag === "Success").length, 5)
          assert.strictEqual((yield* store.list(user.id)).length, 5)
        }))

      it.effect(`concurrent rotations with a grace never exceed the limit${name === "postgres" ? "" : ` (${name} runs one statement at a time: only the Postgres run can race)`}`, () =>
        Effect.gen(function*() {
          const store = yield* TokenStore
          const user = yield* (yield* Fixture).createUser
          const four = yield* Effect.forEach([1, 2, 3, 4], (i) => store.create({ userId: user.id, name: `t${i}` }))
          const results = yield* Effect.forEach(four, (t) => Effect.result(store.rotate({ userId: user.id, tokenId: t.info.id, gracePeriod: "1 hour" })), {
            concurrency: 4
          })
          assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1, "room for one")
          assert.strictEqual((yield* store.list(user.id)).length, 5)
        }))
    })
  })

contract("memory", memoryStores, false)
for (const backend of sqlBackends) contract(backend.name, sqlStores(backend), true)
