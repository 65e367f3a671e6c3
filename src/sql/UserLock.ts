/**
 * The transaction and the user lock on Postgres, shared by the token and user tables, so
 * every change to a user or their tokens serialises on the same row.
 *
 * A failed transaction (lost connection, serialisation failure) is a defect: a 5xx, never a refusal.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { User } from "../core/Session.ts"
import type { UserLock } from "../core/Tables.ts"

export const make = (sql: SqlClient.SqlClient): UserLock => ({
  transaction: (effect) => sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", Effect.die)),
  lockUser: (userId) =>
    sql<User>`select * from "user" where "id" = ${userId} for update`.pipe(Effect.map((rows) => rows[0]), Effect.orDie)
})
