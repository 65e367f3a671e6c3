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
import { userReader, type UserModel } from "../core/UserModel.ts"
import { quote, selectList } from "./Columns.ts"

export const make = (sql: SqlClient.SqlClient, model: UserModel): UserLock => {
  const lock = `select ${selectList(model, "u", "u")} from ${quote(model.table)} u where u."id" = $1 for update of u`
  const read = userReader(model, "u")
  return {
    transaction: (effect) => sql.withTransaction(effect).pipe(Effect.catchTag("SqlError", Effect.die)),
    lockUser: (userId) => users(sql, read, lock, [userId]).pipe(Effect.map((rows) => rows[0]))
  }
}

/** The users a statement of `selectList(model, "u", "u")` finds, as `read` (the model's `userReader`) gives them. */
export const users = (
  sql: SqlClient.SqlClient,
  read: ReturnType<typeof userReader>,
  text: string,
  params: ReadonlyArray<unknown>
) =>
  sql.unsafe<Record<string, unknown>>(text, params as Array<unknown>).pipe(
    Effect.map((rows) => rows.map((row) => read(row).user as unknown as User)),
    Effect.orDie
  )
