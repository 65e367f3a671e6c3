/**
 * Deactivation: the one column fusion-auth adds to Better Auth's `user` table.
 *
 * Deactivating keeps every session and token; the choke point refuses them while
 * `deactivatedAt` is set, and reactivation lets the same credentials back in.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { UserNotFound } from "./Errors.ts"
import { MemoryDatabase } from "./MemoryDatabase.ts"

/** What the choke point needs to know fresh about a user. */
export type UserStatus = "active" | "deactivated" | "missing"

export class Users extends Context.Service<Users, {
  deactivate(userId: string): Effect.Effect<void, UserNotFound>
  reactivate(userId: string): Effect.Effect<void, UserNotFound>
  /** One statement; used when Better Auth answered from a cache and may be stale. */
  status(userId: string): Effect.Effect<UserStatus>
}>()("fusion-auth/Users") {
  static readonly layer: Layer.Layer<Users, never, SqlClient.SqlClient> = Layer.effect(
    Users,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const setDeactivatedAt = (userId: string, value: Date | null) =>
        sql<{ id: string }>`update "user" set "deactivatedAt" = ${value} where "id" = ${userId} returning "id"`.pipe(
          Effect.orDie,
          Effect.flatMap((rows) => rows.length === 0 ? Effect.fail(new UserNotFound({ userId })) : Effect.void)
        )
      return Users.of({
        deactivate: (userId) =>
          Clock.currentTimeMillis.pipe(
            Effect.flatMap((now) =>
              sql<{ id: string }>`update "user" set "deactivatedAt" = coalesce("deactivatedAt", ${new Date(now)})
                where "id" = ${userId} returning "id"`
            ),
            Effect.orDie,
            Effect.flatMap((rows) => rows.length === 0 ? Effect.fail(new UserNotFound({ userId })) : Effect.void),
            Effect.withSpan("Users.deactivate")
          ),
        reactivate: (userId) => setDeactivatedAt(userId, null).pipe(Effect.withSpan("Users.reactivate")),
        status: (userId) =>
          sql<{ deactivatedAt: Date | null }>`select "deactivatedAt" from "user" where "id" = ${userId}`.pipe(
            Effect.orDie,
            Effect.map((rows) => statusOf(rows[0])),
            Effect.withSpan("Users.status")
          )
      })
    })
  )

  static readonly layerMemory: Layer.Layer<Users, never, MemoryDatabase> = Layer.effect(
    Users,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      const set = (userId: string, value: (current: Date | null) => Date | null) =>
        Effect.suspend(() => {
          const user = db.users.get(userId)
          if (user === undefined) return Effect.fail(new UserNotFound({ userId }))
          db.users.set(userId, { ...user, deactivatedAt: value(user.deactivatedAt ?? null) })
          return Effect.void
        })
      return Users.of({
        deactivate: (userId) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => set(userId, (current) => current ?? new Date(now))),
        reactivate: (userId) => set(userId, () => null),
        status: (userId) => Effect.sync(() => statusOf(db.users.get(userId)))
      })
    })
  )
}

const statusOf = (row: { readonly deactivatedAt?: Date | null | undefined } | undefined): UserStatus =>
  row === undefined ? "missing" : row.deactivatedAt == null ? "active" : "deactivated"
