/**
 * The app's Better Auth `user` model (`core/UserModel.ts`), made once at start-up from Better
 * Auth's own context (`ctx.tables.user`, the adapter's `usePlural`, the output rule of
 * `parseUserOutput`) and, with the organization plugin, its `member` table; or, for a process without the app's Better Auth, from what the app's
 * `migrate()` saved. Without either (memory layers, a program that builds the stores alone) the default
 * model applies: Better Auth's default `user` table, every column read as named.
 */
import { parseUserOutput } from "better-auth/db"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import * as ModelTable from "../sql/ModelTable.ts"
import { CurrentUserModel, DEFAULT, hiddenBy, memberOf, tableOf, type UserModel } from "../core/UserModel.ts"

/**
 * The model the app's last `migrate()` saved (`sql/ModelTable.ts`), for a process without the
 * app's Better Auth (the CLI); the default model when none was saved.
 */
export const layerSaved: Layer.Layer<never, never, SqlClient.SqlClient> = Layer.effect(CurrentUserModel, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const saved = yield* ModelTable.load(sql)
  if (saved === undefined) return DEFAULT
  return { table: saved.table, columns: saved.columns, hidden: new Set(saved.hidden), member: saved.member } satisfies UserModel
}))

/**
 * Why a process whose Better Auth is this one (the CLI's default) must not migrate the
 * database: the app's saved model names another user table, or maps a field it shares to
 * another column (fields of plugins one side lacks do not matter). `undefined`: it may.
 */
export const foreignTo = (context: PromiseLike<unknown>) =>
  Effect.gen(function*() {
    const ours = yield* Effect.promise(() => Promise.resolve(context)).pipe(Effect.map((ctx) => tableOf(ctx, "user")))
    const saved = yield* SqlClient.SqlClient.pipe(Effect.flatMap(ModelTable.load))
    if (saved === undefined || ours === undefined) return undefined
    const differs = saved.table !== ours.table || saved.columns.some((c) => ours.columns.some((o) => o.key === c.key && o.column !== c.column))
    return differs ? `the app migrated this database with its own Better Auth schema (its user table is "${saved.table}"): run migrate() from the app` : undefined
  })

/** The model of the Better Auth instance whose context this is (`await auth.$context`). */
export const layer = (context: PromiseLike<unknown> | undefined): Layer.Layer<never> =>
  Layer.effect(CurrentUserModel, Effect.gen(function*() {
    const ctx = context === undefined ? undefined : yield* Effect.promise(() => Promise.resolve(context))
    const user = tableOf(ctx, "user")
    if (user === undefined) return DEFAULT
    const options = (ctx as { options?: object }).options ?? {}
    return {
      table: user.table,
      columns: user.columns,
      hidden: hiddenBy(parseUserOutput, options, user.columns.map((c) => c.key)),
      member: memberOf(ctx)
    } satisfies UserModel
  }))
