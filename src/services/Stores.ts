/**
 * The stores composed, ready to provide: on Postgres (`layer`, needs a `SqlClient`) or in
 * memory (`layerMemory`, for tests; add users with `MemoryDatabase.addUser`).
 *
 * Both need the token policy and secret (`settings`): `createAuthSession` provides its own
 * `tokens` and `tokenSecret` to a layer it is given, so a swapped layer sees the app's scopes;
 * a program that builds the stores itself provides `settings(...)` once, where it builds them.
 */
import { Layer, type Redacted } from "effect"
import type { SqlClient } from "effect/sql"
import * as TokenPolicy from "../core/TokenPolicy.ts"
import { TokenSecret } from "../core/TokenSecret.ts"
import { MemoryDatabase } from "../memory/MemoryDatabase.ts"
import { AuditLog } from "./AuditLog.ts"
import { LastUsed } from "./LastUsed.ts"
import { TokenStore } from "./TokenStore.ts"
import { Users } from "./Users.ts"

export type Stores = TokenStore | Users | AuditLog | LastUsed

/** What the stores read from their context: the token policy and the token secret. */
export type Settings = TokenPolicy.CurrentTokenPolicy | TokenSecret

export interface SettingsOptions {
  /** Scopes, who may grant them, maximum lifetime, per-user limit (see `TokenPolicy`). */
  readonly tokens?: TokenPolicy.TokenPolicyOptions | undefined
  /** Server secret for HMAC token digests (see `TokenSecret`); none: plain SHA-256. */
  readonly tokenSecret?: string | Redacted.Redacted<string> | undefined
}

/** The policy and secret of these options; `settings()`: no scopes, no secret. A bad scope name throws here. */
export const settings = (options: SettingsOptions = {}): Layer.Layer<Settings> =>
  Layer.merge(TokenPolicy.layer(options.tokens), TokenSecret.layer(options.tokenSecret))

export const layer: Layer.Layer<Stores, never, SqlClient.SqlClient | Settings> = Layer.mergeAll(TokenStore.layer, Users.layer).pipe(
  Layer.provideMerge(LastUsed.layer),
  Layer.provideMerge(AuditLog.layer)
)

export const layerMemory: Layer.Layer<Stores | MemoryDatabase, never, Settings> = Layer.mergeAll(
  TokenStore.layerMemory,
  Users.layerMemory
).pipe(
  Layer.provideMerge(LastUsed.layerMemory),
  Layer.provideMerge(AuditLog.layerMemory),
  Layer.provideMerge(MemoryDatabase.layer)
)
