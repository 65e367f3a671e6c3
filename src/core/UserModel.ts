/**
 * Better Auth's `user` table as the app configures it, for every statement fusion-auth runs
 * on it (the token path's join, the user lock, deactivation, the CLI's lists): its name
 * (`modelName`, plural under the adapter's `usePlural`), each field's column (`fieldName`),
 * the fields its output rule hides (`returned: false`), and the columns the database types
 * `timestamp without time zone`.
 *
 * Pure: the model is made once from Better Auth's context and the database's catalog
 * (`services/UserModel.ts`), and the statements and rows below follow it. `DEFAULT` is Better
 * Auth's default schema, known only by name: every column is read as it is named.
 */
import { Context } from "effect"
import { type LockOutFields, lockOutFields } from "./LockOut.ts"

/** One field: its key in Better Auth's model and its column in the database. */
export interface Column {
  readonly key: string
  readonly column: string
}

export interface UserModel {
  /** The table as the database names it. */
  readonly table: string
  /** Every field Better Auth declares (`id` first); `undefined`: not known, every column read under its own name. */
  readonly columns: ReadonlyArray<Column> | undefined
  /** Fields Better Auth's output rule leaves out of a user (`returned: false`). */
  readonly hidden: ReadonlySet<string>
  /**
   * Columns typed `timestamp without time zone` (a Prisma-made or older schema): read in
   * `zone`, the app's own time zone, as Better Auth's `pg` driver reads them.
   */
  readonly localTimestamps: ReadonlySet<string>
  readonly zone: string
}

export const DEFAULT: UserModel = { table: "user", columns: undefined, hidden: new Set(), localTimestamps: new Set(), zone: "UTC" }

/** The model the SQL tables follow: the default one unless a layer provides the app's (`services/UserModel.ts`). */
export const CurrentUserModel = Context.Reference<UserModel>("fusion-auth/UserModel", { defaultValue: () => DEFAULT })

/** A model's table as Better Auth's adapters name it: `modelName`, with an `s` under `usePlural`. */
export const tableName = (modelName: string, usePlural: boolean | undefined): string => (usePlural === true ? `${modelName}s` : modelName)

export const quote = (identifier: string): string => `"${identifier.replaceAll(`"`, `""`)}"`
const literal = (text: string): string => `'${text.replaceAll(`'`, `''`)}'`

/** The column of a field (its own name where the model does not know it). */
export const columnOf = (model: UserModel, key: string): string => model.columns?.find((c) => c.key === key)?.column ?? key

/**
 * A column of `table` (aliased `alias`) as an expression that reads it right: a
 * `timestamp without time zone` is taken as wall time in the app's zone.
 */
export const readColumn = (local: ReadonlySet<string>, zone: string, alias: string, column: string): string =>
  local.has(column) ? `(${alias}.${quote(column)} at time zone ${literal(zone)})` : `${alias}.${quote(column)}`

/** The user's select list under table alias `alias`, each field aliased `${prefix}${i}`. */
export const selectList = (model: UserModel, alias: string, prefix: string): string =>
  model.columns === undefined
    ? `${alias}.*`
    : model.columns.map((c, i) => `${readColumn(model.localTimestamps, model.zone, alias, c.column)} as "${prefix}${i}"`).join(", ")

/**
 * The user a row of `selectList` holds under Better Auth's keys, its id a string, and the
 * lock-out fields read apart from it. With `output`, as Better Auth returns a user to a
 * caller: the fields its output rule hides left out (the lock-out still reads them).
 */
export const readUser = (
  model: UserModel,
  row: Record<string, unknown>,
  prefix: string,
  output = false
): { user: Record<string, unknown>; lock: LockOutFields } => {
  const all: Record<string, unknown> = {}
  if (model.columns === undefined) Object.assign(all, row)
  else model.columns.forEach((c, i) => (all[c.key] = row[`${prefix}${i}`]))
  all.id = String(all.id)
  const lock = lockOutFields(all)
  if (output) for (const key of model.hidden) delete all[key]
  return { user: all, lock }
}
