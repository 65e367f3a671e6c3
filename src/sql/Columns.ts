/**
 * Identifiers and select lists of Better Auth's tables, as statement text: every identifier
 * from Better Auth's own model, quoted; every value a parameter of the statement using them.
 */
import type { Column, UserModel } from "../core/UserModel.ts"

/** An identifier, quoted (embedded quotes doubled). */
export const quote = (identifier: string): string => `"${identifier.replaceAll(`"`, `""`)}"`
const literal = (text: string): string => `'${text.replaceAll(`'`, `''`)}'`

/** The process's own time zone (IANA name), as JavaScript's local time uses it now. */
const zone = () => literal(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC")

/**
 * A column of table alias `alias` as an expression that reads it right. A `date` field is a
 * `timestamptz` whatever the column's type: a `timestamp without time zone` (a Prisma-made or
 * older schema) is taken as wall time in the app's own zone, as Better Auth's `pg` driver
 * reads it, where the wire would otherwise give its wall time as UTC. Decided per value by
 * its type, so no catalog is read and no session setting is relied on.
 */
export const readColumn = (alias: string, column: Column): string => {
  const name = `${alias}.${quote(column.column)}`
  return column.date === true
    ? `(case when pg_typeof(${name}) = 'timestamp without time zone'::regtype then ${name}::timestamp at time zone ${zone()} else ${name}::timestamptz end)`
    : name
}

/** The user's select list under table alias `alias`, each field aliased `${prefix}${i}`. */
export const selectList = (model: UserModel, alias: string, prefix: string): string =>
  model.columns === undefined
    ? `${alias}.*`
    : model.columns.map((c, i) => `${readColumn(alias, c)} as "${prefix}${i}"`).join(", ")

