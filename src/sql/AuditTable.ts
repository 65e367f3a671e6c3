/** The `fusionAuditEvent` table on Postgres; `seq` orders events of the same millisecond. */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { AuditEvent, AuditTable } from "../core/Tables.ts"

export const make = (sql: SqlClient.SqlClient): AuditTable => ({
  insert: (event) => sql`insert into "fusionAuditEvent" ${sql.insert({ ...event })}`.pipe(Effect.orDie, Effect.asVoid),
  list: (userId, limit) =>
    sql<AuditEvent & { seq?: unknown }>`select * from "fusionAuditEvent"
      ${userId === undefined ? sql`` : sql`where "userId" = ${userId}`}
      order by "at" desc, "seq" desc limit ${limit}`.pipe(
      Effect.map((rows) => rows.map(({ seq: _seq, ...event }) => event)),
      Effect.orDie
    )
})
