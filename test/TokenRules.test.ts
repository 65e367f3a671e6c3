/**
 * The pure checks behind `TokenStore`, with no store: which tokens may be rotated (at the
 * expiry, and one millisecond either side), which scopes a caller may mint, expiry bounds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { InsufficientScope, InvalidTokenInput, type Session, type User } from "../src/index.ts"
import { checkCaller, checkExpiry, checkRotatable, checkScopes } from "../src/core/TokenRules.ts"
import * as TokenPolicy from "../src/core/TokenPolicy.ts"

const failure = <A, E>(effect: Effect.Effect<A, E>) => {
  const exit = Effect.runSyncExit(effect)
  return Exit.isFailure(exit) ? Exit.findErrorOption(exit).pipe((o) => (o._tag === "Some" ? o.value : "defect")) : undefined
}

const expiry = new Date("2026-01-02T00:00:00Z")
const live = { revokedAt: null, replacedBy: null, expiresAt: expiry }
const refused = (problem: string) => new InvalidTokenInput({ field: "tokenId", problem })

const at = new Date("2026-01-01T00:00:00Z")
const user: User = { id: "u1", email: "a@example.com", name: "A", emailVerified: true, createdAt: at, updatedAt: at, role: "member" }
const policy = TokenPolicy.make({
  scopes: ["read", "write", "admin:users"],
  grantable: (u) => (u.role === "admin" ? ["read", "write", "admin:users"] : ["read", "write"]),
  maxLifetime: "1 day"
})

describe("checkRotatable", () => {
  it("a live token may be rotated until 1 ms before its expiry, not at it or after", () => {
    assert.isUndefined(failure(checkRotatable(live, new Date(expiry.getTime() - 1))))
    assert.deepStrictEqual(failure(checkRotatable(live, expiry)), refused("token is expired"))
    assert.deepStrictEqual(failure(checkRotatable(live, new Date(expiry.getTime() + 1))), refused("token is expired"))
    assert.isUndefined(failure(checkRotatable({ ...live, expiresAt: null }, new Date(8.64e15))), "no expiry never expires")
  })

  it("a revoked or already rotated token is refused, revoked first, whatever its expiry", () => {
    const before = new Date(expiry.getTime() - 1)
    assert.deepStrictEqual(failure(checkRotatable({ ...live, revokedAt: at }, before)), refused("token is revoked"))
    assert.deepStrictEqual(failure(checkRotatable({ ...live, replacedBy: "t2" }, before)), refused("token is already rotated"))
    assert.deepStrictEqual(failure(checkRotatable({ revokedAt: at, replacedBy: "t2", expiresAt: at }, expiry)), refused("token is revoked"))
    assert.deepStrictEqual(failure(checkRotatable({ ...live, replacedBy: "t2" }, expiry)), refused("token is already rotated"))
  })
})

describe("checkCaller", () => {
  const token: Session = { user, session: null, scopes: ["read"] }
  it("a caller mints only known scopes it holds now; unknown scopes are left to checkScopes", () => {
    assert.isUndefined(failure(checkCaller(policy, token, ["read"])))
    assert.isUndefined(failure(checkCaller(policy, token, ["not-a-scope"])))
    assert.deepStrictEqual(failure(checkCaller(policy, token, ["read", "write"])), new InsufficientScope({ scope: "write", credential: "token" }))
  })
})

describe("checkScopes and checkExpiry", () => {
  it("scopes must be known and grantable by the owner; the expiry within the policy's lifetime", () => {
    assert.deepStrictEqual(Effect.runSync(checkScopes(policy, user, ["read", "read"])), ["read"])
    assert.strictEqual((failure(checkScopes(policy, user, ["admin:users"])) as InvalidTokenInput).problem, "the owner may not grant admin:users")
    assert.strictEqual((failure(checkScopes(policy, user, ["sk_live_4Hq8"])) as InvalidTokenInput).problem, "unknown scope (not a scope name)")
    const max = at.getTime() + 86_400_000
    assert.deepStrictEqual(Effect.runSync(checkExpiry(policy, at, undefined)), new Date(max))
    assert.deepStrictEqual(Effect.runSync(checkExpiry(policy, at, new Date(max))), new Date(max))
    assert.strictEqual((failure(checkExpiry(policy, at, new Date(max + 1))) as InvalidTokenInput).field, "expiresAt")
    assert.strictEqual((failure(checkExpiry(policy, at, at)) as InvalidTokenInput).field, "expiresAt")
  })
})
