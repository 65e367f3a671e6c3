/**
 * Better Auth's `user` table on Postgres, as `Users` reads it and changes its one column,
 * `deactivatedAt`.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import { lockOutFields } from "../core/LockOut.ts"
import type { User } from "../core/Session.ts"
import type { UserTable } from "../core/Tables.ts"
import * as UserLock from "./UserLock.ts"

export const make = (sql: SqlClient.SqlClient): UserTable => ({
  ...UserLock.make(sql),
  setDeactivatedAt: (userId, value) =>
    sql<User>`update "user" set "deactivatedAt" = ${value} where "id" = ${userId} returning *`.pipe(
      Effect.map((rows) => rows[0]!),
      Effect.orDie
    ),
  // The whole row: the ban's columns exist only where Better Auth's admin plugin is installed.
  status: (userId) =>
    sql<Record<string, unknown>>`select * from "user" where "id" = ${userId}`.pipe(
      Effect.map((rows) => (rows[0] === undefined ? undefined : lockOutFields(rows[0]))),
      Effect.orDie
    ),
  findByEmail: (email) =>
    sql<User>`select * from "user" where lower("email") = lower(${email})`.pipe(Effect.map((rows) => rows[0]), Effect.orDie),
  list: (filter) =>
    sql<User>`select * from "user" ${
      filter.deactivated === undefined
        ? sql``
        : filter.deactivated
        ? sql`where "deactivatedAt" is not null`
        : sql`where "deactivatedAt" is null`
    } order by "createdAt", "id"`.pipe(Effect.orDie)
})
