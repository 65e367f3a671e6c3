/**
 * Who did what to tokens and users, and when: created, rotated, revoked, revoked as leaked,
 * deactivated, reactivated. Never a secret: ids, a hint, a name at most.
 *
 * `record` joins the caller's transaction, so an event is written exactly when its change is.
 */
import { Clock, Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"

export type AuditAction =
  | "token.created"
  | "token.rotated"
  | "token.revoked"
  | "token.revoked_leaked"
  | "user.deactivated"
  | "user.reactivated"

export interface AuditEvent {
  readonly id: string
  readonly at: Date
  readonly action: AuditAction
  /** Who did it: a user id, or a label such as `cli` or `system`; `null` when unknown. */
  readonly actorId: string | null
  /** Whose user or token it was. */
  readonly userId: string | null
  readonly tokenId: string | null
  /** A safe detail: a token's name and hint, a successor's id. */
  readonly detail: string | null
}

export type AuditInput = Omit<AuditEvent, "id" | "at">

export interface AuditFilter {
  readonly userId?: string | undefined
  readonly limit?: number | undefined
}

export class AuditLog extends Context.Service<AuditLog, {
  record(event: AuditInput): Effect.Effect<void>
  /** Newest first. */
  list(filter?: AuditFilter): Effect.Effect<ReadonlyArray<AuditEvent>>
}>()("fusion-auth/AuditLog") {
  static readonly layer: Layer.Layer<AuditLog, never, SqlClient.SqlClient> = Layer.effect(
    AuditLog,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return AuditLog.of({
        record: (input) =>
          Effect.flatMap(stamp(input), (event) => sql`insert into "fusionAuditEvent" ${sql.insert({ ...event })}`).pipe(
            Effect.orDie,
            Effect.asVoid
          ),
        list: (filter = {}) =>
          sql<AuditEvent>`select * from "fusionAuditEvent"
            ${filter.userId === undefined ? sql`` : sql`where "userId" = ${filter.userId}`}
            order by "at" desc, "seq" desc limit ${limit(filter)}`.pipe(
            Effect.map((rows) => rows.map(({ seq: _seq, ...event }: AuditEvent & { seq?: unknown }) => event)),
            Effect.orDie
          )
      })
    })
  )

  static readonly layerMemory: Layer.Layer<AuditLog, never, MemoryDatabase> = Layer.effect(
    AuditLog,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      return AuditLog.of({
        record: (input) => Effect.map(stamp(input), (event) => void db.audit.push(event)),
        list: (filter = {}) =>
          Effect.sync(() =>
            db.audit
              .filter((event) => filter.userId === undefined || event.userId === filter.userId)
              .toReversed()
              .slice(0, limit(filter))
          )
      })
    })
  )
}

const stamp = (input: AuditInput): Effect.Effect<AuditEvent> =>
  Effect.map(Clock.currentTimeMillis, (now) => ({ id: crypto.randomUUID(), at: new Date(now), ...input }))

const limit = (filter: AuditFilter) => Math.min(Math.max(1, filter.limit ?? 100), 1000)
