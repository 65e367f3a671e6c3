/**
 * Better Auth's `user` table on Postgres, as `Users` reads it and changes its one column,
 * `deactivatedAt` (`deprovisionedAt` is the directory's, written through Better Auth: `adapters/ScimGuard.ts`): under the names the app's Better Auth model gives them (`UserModel`).
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import { columnOf, userReader, type UserModel } from "../core/UserModel.ts"
import { quote, selectList } from "./Columns.ts"
import type { UserTable } from "../core/Tables.ts"
import * as UserLock from "./UserLock.ts"

export const make = (sql: SqlClient.SqlClient, model: UserModel): UserTable => {
  const table = quote(model.table)
  const fields = selectList(model, "u", "u")
  const select = `select ${fields} from ${table} u`
  const deactivatedColumn = quote(columnOf(model, "deactivatedAt"))
  // LockOut.isDeactivated in SQL: the app's deactivation or the directory's (a model saved before that column: the app's alone).
  const hasDeprovisioned = model.columns === undefined || model.columns.some((c) => c.key === "deprovisionedAt")
  const deactivated = hasDeprovisioned
    ? `(u.${deactivatedColumn} is not null or u.${quote(columnOf(model, "deprovisionedAt"))} is not null)`
    : `u.${deactivatedColumn} is not null`
  const order = `order by u.${quote(columnOf(model, "createdAt"))}, u."id"`
  const read = userReader(model, "u")
  const users = (text: string, params: ReadonlyArray<unknown> = []) => UserLock.users(sql, read, text, params)
  return {
    ...UserLock.make(sql, model),
    setDeactivatedAt: (userId, value) =>
      users(`update ${table} u set ${deactivatedColumn} = $1 where u."id" = $2 returning ${fields}`, [value, userId])
        .pipe(Effect.map((rows) => rows[0]!)),
    // Every field: the ban's columns exist only where Better Auth's admin plugin is installed.
    status: (userId) =>
      sql.unsafe<Record<string, unknown>>(`${select} where u."id" = $1`, [userId]).pipe(
        Effect.map((rows) => (rows[0] === undefined ? undefined : read(rows[0]).lock)),
        Effect.orDie
      ),
    findByEmail: (email) =>
      users(`${select} where lower(u.${quote(columnOf(model, "email"))}) = lower($1)`, [email]).pipe(Effect.map((rows) => rows[0])),
    list: (filter) =>
      users(`${select} ${
        filter.deactivated === undefined ? "" : filter.deactivated ? `where ${deactivated}` : `where not ${deactivated}`
      } ${order}`)
  }
}
