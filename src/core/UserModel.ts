/**
 * Better Auth's `user` table as the app configures it, for every statement fusion-auth runs
 * on it (the token path's join, the user lock, deactivation, the CLI's lists): its name
 * (`modelName`, plural under the adapter's `usePlural`), each field's column (`fieldName`),
 * and the fields its output rule hides (`returned: false`).
 *
 * Pure: the model is made once from Better Auth's context (`services/UserModel.ts`), and the
 * statements (`sql/Columns.ts`) and rows below follow it. `DEFAULT` is Better
 * Auth's default schema, known only by name: every column is read as it is named.
 */
import { Context } from "effect"
import { LOCK_OUT_KEYS, type LockOutFields, lockOutFields } from "./LockOut.ts"

/** One field: its key in Better Auth's model, its column in the database, and whether it holds an id. */
export interface Column {
  readonly key: string
  readonly column: string
  /** It references another model's `id` (`references.field`): a string to callers, as Better Auth gives it. */
  readonly reference?: boolean
  /** Better Auth declares it a `date`: read as an instant whatever the column's type (see `sql/Columns.ts`). */
  readonly date?: boolean
}

interface Field {
  readonly type?: unknown
  readonly fieldName?: string
  readonly references?: { readonly field?: string }
}

/**
 * A Better Auth model's table and columns, as its context declares them (`ctx.tables`, the
 * adapter's `usePlural`); `undefined` when the context does not say.
 */
export const tableOf = (context: unknown, model: string): { readonly table: string; readonly columns: ReadonlyArray<Column> } | undefined => {
  const ctx = (context ?? {}) as {
    tables?: Record<string, { modelName?: string; fields?: Record<string, Field> } | undefined>
    adapter?: { options?: { adapterConfig?: { usePlural?: boolean } } }
  }
  const declared = ctx.tables?.[model]
  if (typeof declared?.modelName !== "string") return undefined
  return {
    table: tableName(declared.modelName, ctx.adapter?.options?.adapterConfig?.usePlural),
    columns: [
      { key: "id", column: "id" },
      ...Object.entries(declared.fields ?? {}).map(([key, field]) => ({
        key,
        column: field.fieldName ?? key,
        ...(field.references?.field === "id" ? { reference: true } : {}),
        ...(field.type === "date" ? { date: true } : {})
      }))
    ]
  }
}

/** Ids as Better Auth gives them to callers: strings, whatever the column's type (serial ids are integers). */
export const idsAsStrings = (row: Record<string, unknown>, columns: ReadonlyArray<Column>): void => {
  for (const c of columns) {
    if ((c.key === "id" || c.reference) && row[c.key] !== null && row[c.key] !== undefined) row[c.key] = String(row[c.key])
  }
}

/** The keys Better Auth's own output rule leaves out of a row with these keys. */
export const hiddenBy = (
  parse: (options: never, row: never) => unknown,
  options: object,
  keys: ReadonlyArray<string>
): ReadonlySet<string> => {
  const kept = parse(options as never, Object.fromEntries(keys.map((key) => [key, null])) as never) as object
  return new Set(keys.filter((key) => !(key in kept)))
}

export interface UserModel {
  /** The table as the database names it. */
  readonly table: string
  /** Every field Better Auth declares (`id` first); `undefined`: not known, every column read under its own name. */
  readonly columns: ReadonlyArray<Column> | undefined
  /** Fields Better Auth's output rule leaves out of a user (`returned: false`). */
  readonly hidden: ReadonlySet<string>
  /** The organization plugin's `member` table, where the app has the plugin: organization tokens read it. */
  readonly member?: MemberModel | undefined
}

/** Better Auth's organization plugin's `member` table as the app configures it: its name and the columns tokens read. */
export interface MemberModel {
  readonly table: string
  readonly id: string
  readonly organizationId: string
  readonly userId: string
  readonly role: string
}

/** The `member` model of a Better Auth context, or `undefined` when it has no organization plugin. */
export const memberOf = (context: unknown): MemberModel | undefined => {
  const member = tableOf(context, "member")
  const column = (key: string) => member?.columns.find((c) => c.key === key)?.column
  const [id, organizationId, userId, role] = [column("id"), column("organizationId"), column("userId"), column("role")]
  return member === undefined || id === undefined || organizationId === undefined || userId === undefined || role === undefined
    ? undefined
    : { table: member.table, id, organizationId, userId, role }
}

export const DEFAULT: UserModel = { table: "user", columns: undefined, hidden: new Set() }

/** The model the SQL tables follow: the default one unless a layer provides the app's (`services/UserModel.ts`). */
export const CurrentUserModel = Context.Reference<UserModel>("fusion-auth/UserModel", { defaultValue: () => DEFAULT })

/** A model's table as Better Auth's adapters name it: `modelName`, with an `s` under `usePlural`. */
export const tableName = (modelName: string, usePlural: boolean | undefined): string => (usePlural === true ? `${modelName}s` : modelName)

/** The column of a field (its own name where the model does not know it). */
export const columnOf = (model: { readonly columns?: ReadonlyArray<Column> | undefined }, key: string): string =>
  model.columns?.find((c) => c.key === key)?.column ?? key

/**
 * The fields of `columns` a row holds under the aliases `${prefix}${i}`, read by a function
 * made once (so reading a row only copies values): under Better Auth's keys, ids as strings
 * (whatever the column's type), the keys in `hidden` left out.
 */
export const fieldsReader = (
  columns: ReadonlyArray<Column>,
  prefix: string,
  hidden: ReadonlySet<string>
): (row: Record<string, unknown>) => Record<string, unknown> => {
  const fields = columns.flatMap((c, i) =>
    hidden.has(c.key) ? [] : [{ key: c.key, alias: `${prefix}${i}`, id: c.key === "id" || c.reference === true }]
  )
  return (row) => {
    const out: Record<string, unknown> = {}
    for (const { key, alias, id } of fields) {
      const value = row[alias]
      out[key] = id && value !== null && value !== undefined ? String(value) : value
    }
    return out
  }
}

const NONE: ReadonlySet<string> = new Set()

/**
 * The user a row of `selectList` holds, as `fieldsReader` reads it, and the lock-out fields
 * read apart from it. With `output`, as Better Auth returns a user to a caller: the fields its
 * output rule hides left out (the lock-out still reads them).
 */
export const userReader = (
  model: UserModel,
  prefix: string,
  output = false
): (row: Record<string, unknown>) => { user: Record<string, unknown>; lock: LockOutFields } => {
  const { columns } = model
  if (columns === undefined) {
    return (row) => {
      const all: Record<string, unknown> = { ...row }
      idsAsStrings(all, [{ key: "id", column: "id" }])
      const lock = lockOutFields(all)
      if (output) for (const key of model.hidden) delete all[key]
      return { user: all, lock }
    }
  }
  const readFields = fieldsReader(columns, prefix, output ? model.hidden : NONE)
  const lockAliases = LOCK_OUT_KEYS.map((key) => {
    const at = columns.findIndex((c) => c.key === key)
    return [key, at < 0 ? undefined : `${prefix}${at}`] as const
  })
  return (row) => {
    const lock: Record<string, unknown> = {}
    for (const [key, alias] of lockAliases) lock[key] = alias === undefined ? undefined : row[alias]
    return { user: readFields(row), lock: lock as LockOutFields }
  }
}
