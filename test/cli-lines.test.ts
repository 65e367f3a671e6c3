/** How the CLI names a token's state (`tokens list`: the first of revoked, removed, expired, rotated that holds, else live) and a user's (`users list`). */
import { assert, describe, it } from "@effect/vitest"
import { tokenLine, userJson, userLine } from "../src/cli/Lines.ts"
import type { TokenInfo } from "../src/core/TokenTypes.ts"

const now = Date.now()
const token: TokenInfo = {
  id: "tok_1",
  userId: "u1",
  name: "ci",
  hint: "sk_live_…abcd",
  scopes: ["read"],
  createdAt: new Date(now - 86_400_000),
  expiresAt: null,
  lastUsedAt: null,
  revokedAt: null,
  replacedBy: null,
  rateLimit: null,
  organizationId: null,
  removed: false
}
const state = (changes: Partial<TokenInfo>) => tokenLine({ ...token, ...changes }).split("  ").at(-1)

describe("tokens list's state", () => {
  it("live, rotated within its grace, expired (rotated or not), removed by its organization, revoked", () => {
    const past = new Date(now - 60_000)
    const ahead = new Date(now + 60_000)
    assert.strictEqual(state({}), "live")
    assert.strictEqual(state({ expiresAt: ahead }), "live")
    assert.strictEqual(state({ expiresAt: past }), "EXPIRED")
    assert.strictEqual(state({ replacedBy: "tok_2", expiresAt: ahead }), "rotated to tok_2")
    assert.strictEqual(state({ replacedBy: "tok_2", expiresAt: past }), "EXPIRED, rotated to tok_2")
    assert.match(state({ organizationId: "org_1", removed: true, expiresAt: past })!, /^REMOVED /)
    assert.strictEqual(state({ revokedAt: past, removed: true }), `REVOKED ${past.toISOString()}`)
  })
})

describe("users list's state", () => {
  const at = new Date("2026-12-01T10:00:00.000Z")
  const directory = new Date("2026-12-02T10:00:00.000Z")
  const user = { id: "u1", email: "ada@example.com", name: "Ada", emailVerified: true, createdAt: at, updatedAt: at }
  const line = (changes: Record<string, unknown>) => userLine({ ...user, ...changes }).split("  ").at(-1)

  it("active; deactivated by the app, by the directory (SCIM), or both, each with its time; banned", () => {
    assert.strictEqual(line({ deactivatedAt: null, deprovisionedAt: null }), "active")
    assert.strictEqual(line({ deactivatedAt: at }), "DEACTIVATED 2026-12-01T10:00:00.000Z")
    assert.strictEqual(line({ deactivatedAt: null, deprovisionedAt: directory }), "DEACTIVATED BY THE DIRECTORY (SCIM) 2026-12-02T10:00:00.000Z")
    assert.strictEqual(
      line({ deactivatedAt: at, deprovisionedAt: directory }),
      "DEACTIVATED 2026-12-01T10:00:00.000Z, DEACTIVATED BY THE DIRECTORY (SCIM) 2026-12-02T10:00:00.000Z"
    )
    assert.strictEqual(line({ banned: true }), "BANNED")
  })

  it("--json gives both columns and the rule's answer", () => {
    assert.deepStrictEqual(userJson({ ...user, deactivatedAt: null, deprovisionedAt: directory }), {
      id: "u1",
      email: "ada@example.com",
      name: "Ada",
      deactivatedAt: null,
      deprovisionedAt: directory,
      lockedOut: "deactivated"
    })
  })
})
