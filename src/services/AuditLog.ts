/**
 * Who did what to tokens and users, and when: created, rotated, revoked, revoked as leaked,
 * deactivated, reactivated. Never a secret: ids, a hint, a name at most.
 *
 * `record` joins the caller's transaction, so an event is written exactly when its change is.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import type { AuditEvent, AuditFilter, AuditTable } from "../core/Tables.ts"
import * as MemoryAuditTable from "../memory/AuditTable.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import * as SqlAuditTable from "../sql/AuditTable.ts"

export type { AuditAction, AuditEvent, AuditFilter } from "../core/Tables.ts"

export type AuditInput = Omit<AuditEvent, "id" | "at" | "actorCredential"> & {
  readonly actorCredential?: string | null | undefined
}

export class AuditLog extends Context.Service<AuditLog, {
  record(event: AuditInput): Effect.Effect<void>
  /** Newest first; 100 by default, 1,000 at most. */
  list(filter?: AuditFilter): Effect.Effect<ReadonlyArray<AuditEvent>>
}>()("fusion-auth/AuditLog") {
  static readonly layer: Layer.Layer<AuditLog, never, SqlClient.SqlClient> = Layer.effect(
    AuditLog,
    Effect.map(SqlClient.SqlClient, (sql) => make(SqlAuditTable.make(sql)))
  )

  static readonly layerMemory: Layer.Layer<AuditLog, never, MemoryDatabase> = Layer.effect(
    AuditLog,
    Effect.map(MemoryDatabase, (db) => make(MemoryAuditTable.make(db)))
  )
}

const make = (table: AuditTable) =>
  AuditLog.of({
    record: (input) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => table.insert({ id: crypto.randomUUID(), at: new Date(now), ...input, actorCredential: input.actorCredential ?? null })),
    list: (filter = {}) => table.list(filter.userId, Math.min(Math.max(1, filter.limit ?? 100), 1000))
  })
