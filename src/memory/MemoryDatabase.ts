/**
 * The in-memory tables behind the memory layers of `TokenStore` and `Users`: for users' own
 * tests and fast unit tests. Tests put users in with `MemoryDatabase.addUser`.
 */
import { Context, Effect, Layer } from "effect"
import type { AuditEvent } from "../services/AuditLog.ts"
import type { User } from "../core/Session.ts"

/** A token row as the SQL table holds it (digest, never the plaintext). */
export interface TokenRecord {
  readonly id: string
  readonly userId: string
  readonly name: string
  readonly digest: string
  readonly hint: string
  readonly createdAt: Date
  readonly expiresAt: Date | null
  readonly lastUsedAt: Date | null
  readonly revokedAt: Date | null
  readonly scopes: ReadonlyArray<string>
  /** The token this one was rotated to; set once, never cleared. */
  readonly replacedBy: string | null
}

export class MemoryDatabase extends Context.Service<MemoryDatabase, {
  readonly users: Map<string, User>
  readonly tokens: Map<string, TokenRecord>
  readonly audit: Array<AuditEvent>
}>()("fusion-auth/MemoryDatabase") {
  static readonly layer = Layer.sync(MemoryDatabase, () => MemoryDatabase.of({ users: new Map(), tokens: new Map(), audit: [] }))

  /** Adds (or replaces) a user, as Better Auth's sign-up would. */
  static readonly addUser = (user: User): Effect.Effect<User, never, MemoryDatabase> =>
    MemoryDatabase.useSync((db) => {
      db.users.set(user.id, user)
      return user
    })
}
