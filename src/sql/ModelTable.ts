/**
 * The app's Better Auth `user` model as its own `migrate()` last saw it, kept in
 * `fusionAuthUserModel` (one row): what a process without the app's Better Auth (the CLI)
 * follows, so it reads and deactivates the users the app has, where the app has them, and
 * reads the organization plugin's `member` table as the app has it.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { Column, MemberModel, UserModel } from "../core/UserModel.ts"

/** A model as saved: its `hidden` set as a list, for JSON; `member` since organization tokens' lists read it (absent: saved before). */
export interface SavedModel {
  readonly table: string
  readonly columns: ReadonlyArray<Column>
  readonly hidden: ReadonlyArray<string>
  readonly member?: MemberModel | undefined
}

export const save = (sql: SqlClient.SqlClient, model: UserModel) =>
  model.columns === undefined
    ? Effect.void
    : sql`insert into "fusionAuthUserModel" ("id", "model", "savedAt")
        values (1, ${JSON.stringify({ table: model.table, columns: model.columns, hidden: [...model.hidden], member: model.member } satisfies SavedModel)}::jsonb, now())
        on conflict ("id") do update set "model" = excluded."model", "savedAt" = excluded."savedAt"`.pipe(Effect.orDie, Effect.asVoid)

/** The saved model, or `undefined` (never migrated by an app, or migrated before models were saved). */
export const load = (sql: SqlClient.SqlClient) =>
  sql<{ model: SavedModel | string }>`select "model" from "fusionAuthUserModel" where "id" = 1`.pipe(
    Effect.map((rows) => {
      const model = rows[0]?.model
      return typeof model === "string" ? (JSON.parse(model) as SavedModel) : model
    }),
    // No table yet (an older database, 42P01) means none saved; any other failure is one.
    Effect.catchTag("SqlError", (error) => (postgresCode(error) === "42P01" ? Effect.succeed(undefined) : Effect.die(error)))
  )

/** The Postgres error code (SQLSTATE) under a `SqlError`: its reason's cause, as @effect/sql-pg reports it. */
export const postgresCode = (error: { readonly reason?: unknown }): unknown =>
  ((error.reason as { readonly cause?: { readonly code?: unknown } } | undefined)?.cause)?.code
