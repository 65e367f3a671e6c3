/**
 * The in-memory tables behind the memory layers of the stores: for users' own tests and fast
 * unit tests. Tests put users in with `MemoryDatabase.addUser`.
 */
import { Context, Effect, Layer } from "effect"
import type { User } from "../core/Session.ts"
import type { AuditEvent, TokenRecord } from "../core/Tables.ts"

/** A row of the organization plugin's `member` table, as far as tokens read it. */
export interface Member {
  /** The row's own id: a member removed and added again is a new row. */
  readonly id: string
  readonly organizationId: string
  readonly userId: string
  readonly role: string
}

export class MemoryDatabase extends Context.Service<MemoryDatabase, {
  readonly users: Map<string, User>
  readonly tokens: Map<string, TokenRecord>
  readonly audit: Array<AuditEvent>
  /** Memberships by `${organizationId}\u0000${userId}`. */
  readonly members: Map<string, Member>
}>()("fusion-auth/MemoryDatabase") {
  static readonly layer = Layer.sync(MemoryDatabase, () => MemoryDatabase.of({ users: new Map(), tokens: new Map(), audit: [], members: new Map() }))

  /** The key of a membership in `members`. */
  static readonly memberKey = (organizationId: string, userId: string): string => `${organizationId}\u0000${userId}`

  /**
   * Adds a membership, or changes its role, as the organization plugin's `addMember` and
   * `updateMemberRole` would; `role: undefined` removes it (added again, it is a new row).
   */
  static readonly setMember = (organizationId: string, userId: string, role: string | undefined): Effect.Effect<void, never, MemoryDatabase> =>
    MemoryDatabase.useSync((db) => {
      const key = MemoryDatabase.memberKey(organizationId, userId)
      if (role === undefined) db.members.delete(key)
      else db.members.set(key, { id: db.members.get(key)?.id ?? crypto.randomUUID(), organizationId, userId, role })
    })

  /** Adds (or replaces) a user, as Better Auth's sign-up would. */
  static readonly addUser = (user: User): Effect.Effect<User, never, MemoryDatabase> =>
    MemoryDatabase.useSync((db) => {
      db.users.set(user.id, user)
      return user
    })
}
