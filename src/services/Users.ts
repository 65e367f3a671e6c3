/**
 * Deactivation: the one column fusion-auth adds to Better Auth's `user` table, and the user
 * look-ups an administrator needs.
 *
 * Deactivating keeps every session and token; the choke point refuses them while
 * `deactivatedAt` is set, and reactivation lets the same credentials back in. Each change is
 * one transaction with its audit event; repeating one is a no-op that records nothing.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { AuditLog } from "./AuditLog.ts"
import { UserNotFound } from "../core/Errors.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import type { User } from "../core/Session.ts"

/** What the choke point needs to know fresh about a user. */
export type UserStatus = "active" | "deactivated" | "missing"

export interface UserFilter {
  /** Only deactivated users (`true`) or only active ones (`false`). */
  readonly deactivated?: boolean | undefined
}

export class Users extends Context.Service<Users, {
  deactivate(userId: string, actorId?: string): Effect.Effect<User, UserNotFound>
  reactivate(userId: string, actorId?: string): Effect.Effect<User, UserNotFound>
  /** One statement; used when Better Auth answered from a cache and may be stale. */
  status(userId: string): Effect.Effect<UserStatus>
  findByEmail(email: string): Effect.Effect<User, UserNotFound>
  list(filter?: UserFilter): Effect.Effect<ReadonlyArray<User>>
}>()("fusion-auth/Users") {
  static readonly layer: Layer.Layer<Users, never, SqlClient.SqlClient | AuditLog> = Layer.effect(
    Users,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* make({
        transaction: (effect) => sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", Effect.die)),
        lock: (userId) =>
          sql<User>`select * from "user" where "id" = ${userId} for update`.pipe(Effect.map((r) => r[0]), Effect.orDie),
        setDeactivatedAt: (userId, value) =>
          sql<User>`update "user" set "deactivatedAt" = ${value} where "id" = ${userId} returning *`.pipe(
            Effect.map((r) => r[0]!),
            Effect.orDie
          ),
        status: (userId) =>
          sql<{ deactivatedAt: Date | null }>`select "deactivatedAt" from "user" where "id" = ${userId}`.pipe(
            Effect.map((rows) => rows[0]),
            Effect.orDie
          ),
        findByEmail: (email) =>
          sql<User>`select * from "user" where lower("email") = lower(${email})`.pipe(Effect.map((r) => r[0]), Effect.orDie),
        list: (filter) =>
          sql<User>`select * from "user" ${
            filter.deactivated === undefined
              ? sql``
              : filter.deactivated
              ? sql`where "deactivatedAt" is not null`
              : sql`where "deactivatedAt" is null`
          } order by "createdAt", "id"`.pipe(Effect.orDie)
      })
    })
  )

  static readonly layerMemory: Layer.Layer<Users, never, MemoryDatabase | AuditLog> = Layer.effect(
    Users,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      const all = () => [...db.users.values()]
      return yield* make({
        transaction: (effect) => effect,
        lock: (userId) => Effect.sync(() => db.users.get(userId)),
        setDeactivatedAt: (userId, value) =>
          Effect.sync(() => {
            const user = { ...db.users.get(userId)!, deactivatedAt: value }
            db.users.set(userId, user)
            return user
          }),
        status: (userId) => Effect.sync(() => db.users.get(userId)),
        findByEmail: (email) => Effect.sync(() => all().find((u) => u.email.toLowerCase() === email.toLowerCase())),
        list: (filter) =>
          Effect.sync(() =>
            all().filter((u) => filter.deactivated === undefined || (u.deactivatedAt != null) === filter.deactivated)
          )
      })
    })
  )
}

interface Table {
  transaction<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E>
  lock(userId: string): Effect.Effect<User | undefined>
  setDeactivatedAt(userId: string, value: Date | null): Effect.Effect<User>
  status(userId: string): Effect.Effect<{ readonly deactivatedAt?: Date | null | undefined } | undefined>
  findByEmail(email: string): Effect.Effect<User | undefined>
  list(filter: UserFilter): Effect.Effect<ReadonlyArray<User>>
}

const make = Effect.fn(function*(table: Table) {
  const audit = yield* AuditLog

  const change = (deactivate: boolean) => (userId: string, actorId?: string) =>
    table.transaction(Effect.gen(function*() {
      const user = yield* table.lock(userId)
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
      table.status(userId).pipe(
        Effect.map((row): UserStatus => row === undefined ? "missing" : row.deactivatedAt == null ? "active" : "deactivated"),
        Effect.withSpan("Users.status")
      ),
    findByEmail: (email) =>
      Effect.flatMap(table.findByEmail(email), (user) =>
        user === undefined ? Effect.fail(new UserNotFound({ userId: email })) : Effect.succeed(user)),
    list: (filter = {}) => table.list(filter)
  })
})
