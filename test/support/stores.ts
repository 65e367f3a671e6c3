/**
 * The backends the store contract runs on, each a layer giving `TokenStore`, `Users`, a way to
 * create users as Better Auth would, and the statements it executed (none for memory).
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { MemoryDatabase, TokenStore, Users, type User } from "../../src/index.ts"
import { makeAuth, migrate } from "./auth.ts"
import type { Backend } from "./databases.ts"
import { countStatements, type Statement } from "./wire.ts"

export class Fixture extends Context.Service<Fixture, {
  /** A new user with a unique email, as sign-up would leave it. */
  readonly createUser: Effect.Effect<User>
  /** Statements executed on the database since the last call (memory: always empty). */
  readonly statements: Effect.Effect<ReadonlyArray<Statement>>
}>()("test/Fixture") {}

let counter = 0
const newUser = (): User => {
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
    deactivatedAt: null
  }
}

export type StoreLayer = Layer.Layer<TokenStore | Users | Fixture>

export const memoryStores: StoreLayer = Layer.mergeAll(
  TokenStore.layerMemory,
  Users.layerMemory,
  Layer.effect(
    Fixture,
    Effect.gen(function*() {
      const db = yield* MemoryDatabase
      return Fixture.of({
        createUser: Effect.sync(() => {
          const user = newUser()
          db.users.set(user.id, user)
          return user
        }),
        statements: Effect.succeed([])
      })
    })
  )
).pipe(Layer.provide(MemoryDatabase.layer))

/** A fresh database on the backend, migrated by the real Better Auth and fusion-auth, behind a statement counter. */
export const sqlStores = (backend: Backend): StoreLayer =>
  Layer.unwrap(
    Effect.gen(function*() {
      const db = yield* Effect.acquireRelease(Effect.promise(() => backend.make()), (db) => Effect.promise(() => db.close()))
      const wire = yield* Effect.acquireRelease(Effect.promise(() => countStatements(db.url)), (w) => Effect.promise(() => w.close()))
      yield* Effect.promise(async () => {
        const { auth, pool } = makeAuth(db.url)
        await migrate(auth, { url: db.url })
        await pool.end()
      })
      const fixture = Layer.effect(
        Fixture,
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          return Fixture.of({
            createUser: Effect.gen(function*() {
              const user = newUser()
              const rows = yield* sql<User>`insert into "user" ${sql.insert({ ...user })} returning *`
              return rows[0]!
            }).pipe(Effect.orDie),
            statements: Effect.sync(() => {
              const seen = wire.statements()
              wire.reset()
              return seen
            })
          })
        })
      )
      return Layer.mergeAll(TokenStore.layer, Users.layer, fixture).pipe(
        Layer.provide(PgClient.layer({ url: Redacted.make(wire.url), maxConnections: 4 }))
      )
    })
  ).pipe(Layer.orDie)
