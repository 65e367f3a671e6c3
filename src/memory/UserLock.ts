/**
 * The transaction and the user lock in memory: nothing to do, since each operation is
 * synchronous and the rules check everything before they write.
 */
import { Effect } from "effect"
import type { UserLock } from "../core/Tables.ts"
import type { MemoryDatabase } from "./MemoryDatabase.ts"

export const make = (db: MemoryDatabase["Service"]): UserLock => ({
  transaction: (effect) => effect,
  lockUser: (userId) => Effect.sync(() => db.users.get(userId))
})
