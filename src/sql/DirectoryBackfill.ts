/**
 * The users a directory had disabled before fusion-auth kept its word (`deprovisionedAt`,
 * `adapters/ScimGuard.ts`): an earlier release, or an app that adds fusion-auth to a SCIM
 * deployment. The SCIM plugin tells fusion-auth only of a change, and skips a PATCH that
 * changes nothing, so a disable it made before would never reach the column. One statement,
 * run by the app's own `migrate()` while the model it saved last knew no `deprovisionedAt`
 * (`Migrations.run`): each user the plugin has linked (a `scimSubject` row) with no active
 * source on a connection that is not decommissioned, as the plugin's own reconciliation
 * decides, gets the column set. It never clears one.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import { columnOf, tableOf, type UserModel } from "../core/UserModel.ts"
import { quote } from "./Columns.ts"
import { postgresCode } from "./ModelTable.ts"

type Table = NonNullable<ReturnType<typeof tableOf>>

/** The SCIM plugin's tables as the app's Better Auth names them. */
export interface DirectoryTables {
  readonly subject: Table
  readonly source: Table
  readonly binding: Table
}

/** The SCIM plugin's tables in Better Auth's `context` (`undefined`: no SCIM plugin there). */
export const directoryTables = (context: unknown): DirectoryTables | undefined => {
  const plugins = (context as { options?: { plugins?: ReadonlyArray<{ id?: unknown }> } } | undefined)?.options?.plugins
  if (plugins?.some((plugin) => plugin.id === "scim") !== true) return undefined
  const subject = tableOf(context, "scimSubject")
  const source = tableOf(context, "scimUser")
  const binding = tableOf(context, "scimConnectionBinding")
  return subject && source && binding ? { subject, source, binding } : undefined
}

const column = (table: Table, key: string) => quote(columnOf(table, key))

/** Sets `deprovisionedAt` of every linked user the directory has no active source for. */
export const backfill = (sql: SqlClient.SqlClient, model: UserModel, { subject, source, binding }: DirectoryTables) => {
  const deprovisioned = quote(columnOf(model, "deprovisionedAt"))
  // Ids compared as text: the plugin's references take user.id's type, whichever that is.
  return sql.unsafe(`update ${quote(model.table)} u set ${deprovisioned} = now()
    where u.${deprovisioned} is null
      and exists (select 1 from ${quote(subject.table)} s where s.${column(subject, "userId")}::text = u."id"::text)
      and not exists (
        select 1 from ${quote(source.table)} su
        left join ${quote(binding.table)} b on b.${column(binding, "connectionId")} = su.${column(source, "connectionId")}
        where su.${column(source, "userId")}::text = u."id"::text and su.${column(source, "active")}
          and coalesce(b.${column(binding, "decommissionStatus")}, 'active') = 'active'
      )`).pipe(
    // The plugin's tables not made yet (Better Auth on an adapter instance, whose tables the app makes): nothing to set.
    Effect.catchTag("SqlError", (error) => (postgresCode(error) === "42P01" ? Effect.void : Effect.die(error))),
    Effect.asVoid
  )
}
