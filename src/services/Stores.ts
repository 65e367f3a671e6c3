/**
 * The stores composed, ready to provide: on Postgres (`layer`, needs a `SqlClient`) or in
 * memory (`layerMemory`, for tests; add users with `MemoryDatabase.addUser`).
 */
import { Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { AuditLog } from "./AuditLog.ts"
import { LastUsed } from "./LastUsed.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import { TokenStore } from "./TokenStore.ts"
import { Users } from "./Users.ts"

export type Stores = TokenStore | Users | AuditLog | LastUsed

export const layer: Layer.Layer<Stores, never, SqlClient.SqlClient> = Layer.mergeAll(TokenStore.layer, Users.layer).pipe(
  Layer.provideMerge(LastUsed.layer),
  Layer.provideMerge(AuditLog.layer)
)

export const layerMemory: Layer.Layer<Stores | MemoryDatabase> = Layer.mergeAll(TokenStore.layerMemory, Users.layerMemory).pipe(
  Layer.provideMerge(LastUsed.layerMemory),
  Layer.provideMerge(AuditLog.layerMemory),
  Layer.provideMerge(MemoryDatabase.layer)
)
