/**
 * Better Auth's `session` and `user` tables on Postgres, as the native cookie path reads
 * them: ONE statement, the session joined with its user by session token, every column the
 * schema declares (additional fields included), under the names `ctx.tables` gives them.
 *
 * The identifiers come from Better Auth's schema, quoted; the token is the one parameter.
 * Columns are aliased by position so no user column can shadow a session column. The rows
 * come out as Better Auth's `getSession` returns them: without the fields its schema marks
 * `returned: false` (`Output` says which, taken once from Better Auth's own rule).
 */
import type { SqlClient } from "effect/sql"
import type { LockOutFields } from "../core/LockOut.ts"
import type { Plan } from "../core/NativeCookie.ts"
import { fieldsReader, userReader } from "../core/UserModel.ts"
import * as Batch from "./Batch.ts"
import { quote, readColumn } from "./Columns.ts"

/** The fields Better Auth leaves out of its answer, per table. */
export interface Output {
  readonly hiddenSession: ReadonlySet<string>
  readonly hiddenUser: ReadonlySet<string>
}

export interface SessionWithUser {
  /** Read apart from the answer: a schema may hide the field, the decision still needs it. */
  readonly expiresAt: Date
  /** The user's lock-out fields, apart from the answer for the same reason. */
  readonly lock: LockOutFields
  readonly session: Record<string, unknown>
  readonly user: Record<string, unknown>
}


/** `sent` records each statement's key count (`Metrics.statementSent("session")`, from the layer building it); left out, nothing is. */
export const make = (sql: SqlClient.SqlClient, plan: Plan, output: Output, sent?: (keys: number) => void) => {
  const select = [
    ...plan.sessionColumns.map((c, i) => `${readColumn("s", c)} as "s${i}"`),
    ...plan.userColumns.map((c, i) => `${readColumn("u", c)} as "u${i}"`)
  ].join(", ")
  const from = `from ${quote(plan.sessionTable)} s join ${quote(plan.userTable)} u on u."id" = s.${quote(plan.userIdColumn)}`
  // Lookups in flight at once share one statement (`Batch`); the token is unique in Better Auth's schema.
  const statements = Batch.statements(`${select} ${from}`, `s.${quote(plan.tokenColumn)}`)
  const readSession = fieldsReader(plan.sessionColumns, "s", output.hiddenSession)
  // The user as the token path reads its owner: one reader of Better Auth's user model (`UserModel.userReader`).
  const readUser = userReader({ table: plan.userTable, columns: plan.userColumns, hidden: output.hiddenUser }, "u", true)
  const expiresAt = `s${plan.sessionColumns.findIndex((c) => c.key === "expiresAt")}`
  const decode = (row: Record<string, unknown>): SessionWithUser => {
    const { user, lock } = readUser(row)
    return { expiresAt: row[expiresAt] as Date, lock, session: readSession(row), user }
  }
  return {
    /** The statement's text: the benchmark's floor sends it bare. */
    text: statements.one,
    /** The session with this token and its user, or `undefined`. */
    find: Batch.fromStatements(sql, { ...statements, decode, sent })
  }
}
