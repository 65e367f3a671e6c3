/**
 * Deactivation: the app's column fusion-auth adds to Better Auth's `user` table
 * (`deactivatedAt`; `deprovisionedAt`, the directory's, is written by `adapters/ScimGuard.ts`
 * and read with it by the lock-out rule), and the user look-ups an administrator needs.
 *
 * Deactivating keeps every session and token; the choke point refuses them while
 * `deactivatedAt` is set, and reactivation lets the same credentials back in. Each change is
 * one transaction with its audit event; repeating one is a no-op that records nothing.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { CurrentUserModel } from "../core/UserModel.ts"
import { UserNotFound } from "../core/Errors.ts"
import { lockOut, type LockOutReason } from "../core/LockOut.ts"
import type { User } from "../core/Session.ts"
import type { UserFilter, UserTable } from "../core/Tables.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import * as MemoryUserTable from "../memory/UserTable.ts"
import * as SqlUserTable from "../sql/UserTable.ts"
import { AuditLog } from "./AuditLog.ts"

export type { UserFilter } from "../core/Tables.ts"

/** What the choke point needs to know fresh about a user: active, locked out (and why), or gone. */
export type UserStatus = "active" | LockOutReason | "missing"

export class Users extends Context.Service<Users, {
  deactivate(userId: string, actorId?: string): Effect.Effect<User, UserNotFound>
  reactivate(userId: string, actorId?: string): Effect.Effect<User, UserNotFound>
  /** One primary-key read; used when the session's answer did not come from fusion-auth's own statement. */
  status(userId: string): Effect.Effect<UserStatus>
  findByEmail(email: string): Effect.Effect<User, UserNotFound>
  list(filter?: UserFilter): Effect.Effect<ReadonlyArray<User>>
}>()("fusion-auth/Users") {
  static readonly layer: Layer.Layer<Users, never, SqlClient.SqlClient | AuditLog> = Layer.effect(
    Users,
    Effect.flatMap(Effect.all([SqlClient.SqlClient, CurrentUserModel]), ([sql, model]) => make(SqlUserTable.make(sql, model)))
  )

  static readonly layerMemory: Layer.Layer<Users, never, MemoryDatabase | AuditLog> = Layer.effect(
    Users,
    Effect.flatMap(MemoryDatabase, (db) => make(MemoryUserTable.make(db)))
  )
}

const make = Effect.fn(function*(table: UserTable) {
  const audit = yield* AuditLog

  const change = (deactivate: boolean) => (userId: string, actorId?: string) =>
    table.transaction(Effect.gen(function*() {
      const user = yield* table.lockUser(userId)
      if (user === undefined) return yield* new UserNotFound({ userId })
      if ((user.deactivatedAt != null) === deactivate) return user
      const at = deactivate ? new Date(yield* Clock.currentTimeMillis) : null
      const changed = yield* table.setDeactivatedAt(userId, at)
      yield* audit.record({
        action: deactivate ? "user.deactivated" : "user.reactivated",
        actorId: actorId ?? null,
        userId,
        tokenId: null,
        detail: null
      })
      return changed
    }))

  return Users.of({
    deactivate: change(true),
    reactivate: change(false),
    status: (userId) =>
      Effect.zipWith(table.status(userId), Clock.currentTimeMillis, (row, now): UserStatus =>
        row === undefined ? "missing" : lockOut(row, now) ?? "active").pipe(Effect.withSpan("Users.status")),
    findByEmail: (email) =>
      Effect.flatMap(table.findByEmail(email), (user) =>
        user === undefined ? Effect.fail(new UserNotFound({ userId: email })) : Effect.succeed(user)),
    list: (filter = {}) => table.list(filter)
  })
})
