/** The audit trail in memory: the same operations as `sql/AuditTable.ts`, over `MemoryDatabase`. */
import { Effect } from "effect"
import type { AuditTable } from "../core/Tables.ts"
import type { MemoryDatabase } from "./MemoryDatabase.ts"

export const make = (db: MemoryDatabase["Service"]): AuditTable => ({
  insert: (event) => Effect.sync(() => void db.audit.push(event)),
  list: (userId, limit) =>
    Effect.sync(() => db.audit.filter((event) => userId === undefined || event.userId === userId).toReversed().slice(0, limit))
})
