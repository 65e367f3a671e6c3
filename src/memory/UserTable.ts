/** Users in memory: the same operations as `sql/UserTable.ts`, over `MemoryDatabase`. */
import { Effect } from "effect"
import { isDeactivated } from "../core/LockOut.ts"
import type { UserTable } from "../core/Tables.ts"
import type { MemoryDatabase } from "./MemoryDatabase.ts"
import * as UserLock from "./UserLock.ts"

export const make = (db: MemoryDatabase["Service"]): UserTable => {
  const all = () => [...db.users.values()]
  return {
    ...UserLock.make(db),
    setDeactivatedAt: (userId, value) =>
      Effect.sync(() => {
        const user = { ...db.users.get(userId)!, deactivatedAt: value }
        db.users.set(userId, user)
        return user
      }),
    status: (userId) => Effect.sync(() => db.users.get(userId)),
    findByEmail: (email) => Effect.sync(() => all().find((u) => u.email.toLowerCase() === email.toLowerCase())),
    list: (filter) =>
      Effect.sync(() => all().filter((u) => filter.deactivated === undefined || isDeactivated(u) === filter.deactivated))
  }
}
