/**
 * The in-memory tables behind the memory layers of the stores: for users' own tests and fast
 * unit tests. Tests put users in with `MemoryDatabase.addUser`.
 */
import { Context, Effect, Layer } from "effect"
import type { User } from "../core/Session.ts"
import type { AuditEvent, TokenRecord } from "../core/Tables.ts"

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
