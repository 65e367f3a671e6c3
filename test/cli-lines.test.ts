/** How the CLI's `tokens list` names a token's state: the first of revoked, removed, expired, rotated that holds, else live. */
import { assert, describe, it } from "@effect/vitest"
import { tokenLine } from "../src/cli/Lines.ts"
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
