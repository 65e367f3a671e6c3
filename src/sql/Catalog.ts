/**
 * What the database's catalog says of Better Auth's tables, read in a migration: the type of
 * `user.id`.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"

/** The type the database gives the user table's `id` (`text`, `uuid`, `integer`, …), as a column type to reuse. */
export const userIdType = (sql: SqlClient.SqlClient, table: string) =>
  sql<{ type: string | null }>`select format_type(a.atttypid, a.atttypmod) as "type" from pg_attribute a
    where a.attrelid = to_regclass(${table}) and a.attname = 'id' and not a.attisdropped`.pipe(
    Effect.flatMap((rows) => {
      const type = rows[0]?.type
      // From the catalog, yet checked before it becomes part of a statement's text.
      return typeof type === "string" && /^[a-z][a-z0-9 ]*(\(\d+\))?$/.test(type)
        ? Effect.succeed(type)
        : Effect.die(new Error(`fusion-auth: the table ${table} has no id column fusion-auth can reference`))
    })
  )

