/**
 * Better Auth's `session` and `user` tables on Postgres, as the native cookie path reads
 * them: ONE statement, the session joined with its user by session token, every column the
 * schema declares (additional fields included), under the names `ctx.tables` gives them.
 *
 * The identifiers come from Better Auth's schema, quoted; the token is the one parameter.
 * Columns are aliased by position so no user column can shadow a session column.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { Plan } from "../core/NativeCookie.ts"

export interface SessionWithUser {
  readonly session: Record<string, unknown>
  readonly user: Record<string, unknown>
}

const quote = (identifier: string) => `"${identifier.replaceAll(`"`, `""`)}"`

export const make = (sql: SqlClient.SqlClient, plan: Plan) => {
  const select = [
    ...plan.sessionColumns.map((c, i) => `s.${quote(c.column)} as "s${i}"`),
    ...plan.userColumns.map((c, i) => `u.${quote(c.column)} as "u${i}"`)
  ].join(", ")
  const text = `select ${select} from ${quote(plan.sessionTable)} s join ${quote(plan.userTable)} u ` +
    `on u."id" = s.${quote(plan.userIdColumn)} where s.${quote(plan.tokenColumn)} = $1 limit 1`
  return {
    /** The session with this token and its user, or `undefined`. */
    find: (token: string): Effect.Effect<SessionWithUser | undefined> =>
      sql.unsafe<Record<string, unknown>>(text, [token]).pipe(
        Effect.map((rows) => {
          const row = rows[0]
          if (row === undefined) return undefined
          const session: Record<string, unknown> = {}
          const user: Record<string, unknown> = {}
          plan.sessionColumns.forEach((c, i) => (session[c.key] = row[`s${i}`]))
          plan.userColumns.forEach((c, i) => (user[c.key] = row[`u${i}`]))
          session.id = String(session.id)
          session.userId = String(session.userId)
          user.id = String(user.id)
          return { session, user }
        }),
        Effect.orDie
      )
  }
}
