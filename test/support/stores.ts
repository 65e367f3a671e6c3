/**
 * The backends the store contract runs on, each a layer giving `TokenStore`, `Users`, a way to
 * create users as Better Auth would, and the statements it executed (none for memory).
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { MemoryDatabase } from "../../src/testing.ts"
import { AuditLog, Stores, TokenStore, type TokenPolicy } from "../../src/effect.ts"
import { LastUsed } from "../../src/services/LastUsed.ts"
import { type User } from "../../src/index.ts"
import { makeAuth, migrate } from "./auth.ts"
import type { Backend } from "./databases.ts"
import { countStatements, type Statement } from "./wire.ts"

export class Fixture extends Context.Service<Fixture, {
  /** A new user with a unique email, as sign-up would leave it. */
  readonly createUser: Effect.Effect<User>
  /** The same, with the app's `role` column set to `admin`. */
  readonly createAdmin: Effect.Effect<User>
  /** Changes the app's `role` column, as the app's own admin screen would. */
  setRole(userId: string, role: string): Effect.Effect<void>
  /** Statements executed on the database since the last call (memory: always empty). */
  readonly statements: Effect.Effect<ReadonlyArray<Statement>>
  /**
   * Another `TokenStore` on the same database, under this policy with `tokens` changed: the
   * same app restarted with another configuration (a new token prefix, say).
   */
  storeWith(tokens: TokenPolicy.TokenPolicyOptions): Effect.Effect<TokenStore["Service"], never, Scope.Scope>
}>()("test/Fixture") {}

let counter = 0
const newUser = (role = "member"): User => {
  const n = ++counter
  const now = new Date()
  return {
    id: `user_${process.pid}_${n}_${Math.random().toString(36).slice(2, 8)}`,
    email: `user${n}.${Math.random().toString(36).slice(2, 8)}@example.com`,
    name: `User ${n}`,
    emailVerified: false,
    image: null,
    createdAt: now,
    updatedAt: now,
    deactivatedAt: null,
    role
  }
}

export type StoreLayer = Layer.Layer<Stores.Stores | Fixture>

/** The policy the contract runs under: three scopes, admins may grant all of them; no token secret. */
const policy: TokenPolicy.TokenPolicyOptions = {
  scopes: ["read", "write", "admin:users"],
  grantable: (user) => (user.role === "admin" ? ["read", "write", "admin:users"] : ["read", "write"]),
  maxLifetime: "30 days",
  maxLiveTokensPerUser: 5,
  lastUsedInterval: "1 minute"
}
const settings = Stores.settings({ tokens: policy })

/** A `TokenStore` over a backend's database (`backing`) under the policy with `tokens` changed. */
const storeOver = <R>(
  store: Layer.Layer<TokenStore, never, R | AuditLog | LastUsed | Stores.Settings>,
  lastUsed: Layer.Layer<LastUsed, never, R | TokenPolicy.CurrentTokenPolicy>,
  audit: Layer.Layer<AuditLog, never, R>,
  backing: Layer.Layer<R>,
  tokens: TokenPolicy.TokenPolicyOptions
) =>
  Layer.build(Layer.fresh(store).pipe(
    Layer.provide(lastUsed),
    Layer.provide(audit),
    Layer.provide(Stores.settings({ tokens: { ...policy, ...tokens } })),
    Layer.provide(backing)
  )).pipe(Effect.map((context) => Context.get(context, TokenStore)))

export const memoryStores: StoreLayer = Layer.mergeAll(
  Stores.layerMemory,
  Layer.effect(
    Fixture,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      return Fixture.of({
        createUser: Effect.suspend(() => MemoryDatabase.addUser(newUser())).pipe(Effect.provideService(MemoryDatabase, db)),
        createAdmin: Effect.suspend(() => MemoryDatabase.addUser(newUser("admin"))).pipe(Effect.provideService(MemoryDatabase, db)),
        setRole: (userId, role) => Effect.sync(() => void db.users.set(userId, { ...db.users.get(userId)!, role })),
        statements: Effect.succeed([]),
        storeWith: (tokens) =>
          storeOver(TokenStore.layerMemory, LastUsed.layerMemory, AuditLog.layerMemory, Layer.succeed(MemoryDatabase, db), tokens)
      })
    })
  ).pipe(Layer.provide(MemoryDatabase.layer))
).pipe(Layer.provide(settings))

/** A fresh database on the backend, migrated by the real Better Auth and fusion-auth, behind a statement counter. */
export const sqlStores = (backend: Backend): StoreLayer =>
  Layer.unwrap(
    Effect.gen(function*() {
      const db = yield* Effect.acquireRelease(Effect.promise(() => backend.make()), (db) => Effect.promise(() => db.close()))
      const wire = yield* Effect.acquireRelease(Effect.promise(() => countStatements(db.url)), (w) => Effect.promise(() => w.close()))
      yield* Effect.promise(async () => {
        const { auth, pool } = makeAuth(db.url)
        await migrate(auth, { url: db.url })
        await pool.query(`alter table "user" add column "role" text not null default 'member'`) // an app's own field
        await pool.end()
      })
      const fixture = Layer.effect(
        Fixture,
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const create = (role: string) =>
            Effect.suspend(() => sql<User>`insert into "user" ${sql.insert({ ...newUser(role) })} returning *`).pipe(
              Effect.map((rows) => rows[0]!),
              Effect.orDie
            )
          return Fixture.of({
            createUser: create("member"),
            createAdmin: create("admin"),
            setRole: (userId, role) => sql`update "user" set "role" = ${role} where "id" = ${userId}`.pipe(Effect.orDie, Effect.asVoid),
            statements: Effect.sync(() => {
              const seen = wire.statements()
              wire.reset()
              return seen
            }),
            storeWith: (tokens) => storeOver(TokenStore.layer, LastUsed.layer, AuditLog.layer, Layer.succeed(SqlClient.SqlClient, sql), tokens)
          })
        })
      )
      return Layer.mergeAll(Stores.layer, fixture).pipe(
        Layer.provide(settings),
        Layer.provide(PgClient.layer({ url: Redacted.make(wire.url), maxConnections: 4 }))
      )
    })
  ).pipe(Layer.orDie)
