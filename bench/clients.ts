/**
 * The clients the contenders share on one database URL, made on first use and closed
 * together: one `pg` pool for every Better Auth instance, a fusion-auth runtime over each
 * cookie setting and one over each rate-limit counter, the Redis the last counts in, and the
 * bare `@effect/sql-pg` client of the floor. Every pool holds at most 16 connections
 * (fusion-auth's own default), so no contender has more than another.
 */
import { Effect, ManagedRuntime } from "effect"
import { SqlClient } from "effect/sql"
import pg from "pg"
import { decide } from "../src/core/NativeCookie.ts"
import { createAuthSession } from "../src/index.ts"
import * as Database from "../src/sql/Database.ts"
import { CurrentUserModel } from "../src/core/UserModel.ts"
import * as UserModel from "../src/services/UserModel.ts"
import * as SessionTable from "../src/sql/SessionTable.ts"
import * as TokenTable from "../src/sql/TokenTable.ts"
import { cookieAuth, type CookieAuth, keyAuth, type KeyAuth, plainAuth, type PlainAuth, storageAuth } from "./auth.ts"
import { redisStorage } from "./redis.ts"

export const POOL_SIZE = 16

/** The token rate limit of the limited contenders: a limit no run reaches, so every request is counted and none refused. */
export const RATE_LIMIT = { requests: 1_000_000_000, window: "1 hour" } as const

const memo = <A>(make: () => A) => {
  let value: A | undefined
  return { get: () => (value ??= make()), peek: () => value }
}

export class Clients {
  readonly url: string
  readonly database: Database.DatabaseOptions
  private readonly pool = memo(() => {
    const pool = new pg.Pool({ connectionString: this.url, max: POOL_SIZE })
    pool.on("error", () => undefined)
    return pool
  })
  private readonly auths = new Map<string, CookieAuth | KeyAuth | PlainAuth>()
  private readonly fusions = new Map<boolean, ReturnType<typeof createAuthSession<CookieAuth>>>()
  private readonly redis = memo(() => redisStorage())
  private readonly limitedInMemory = memo(() =>
    createAuthSession(this.cookieAuth(false), { database: this.database, tokens: { rateLimit: RATE_LIMIT } }))
  private readonly limitedInRedis = memo(() =>
    createAuthSession(storageAuth(this.pool.get(), this.redis.get().storage), { database: this.database, tokens: { rateLimit: RATE_LIMIT } }))
  // The floor's client is fusion-auth's own (`Database.layer`): same driver, same settings.
  private readonly floorRuntime = memo(() => ManagedRuntime.make(Database.layer(this.database)))

  /** `url` is Better Auth's; fusion-auth and the floor use `database` (default: the same URL). */
  constructor(url: string, database: Database.DatabaseOptions = { url }) {
    this.url = url
    this.database = database
  }

  /** Better Auth as fusion-auth wraps it, with its cookie cache off or on. */
  cookieAuth(cookieCache: boolean): CookieAuth {
    const key = `cookie:${cookieCache}`
    if (!this.auths.has(key)) this.auths.set(key, cookieAuth(this.pool.get(), cookieCache))
    return this.auths.get(key) as CookieAuth
  }

  /** Better Auth without fusion-auth, its cookie cache off or on: the plain `getSession` compared. */
  plainAuth(cookieCache: boolean): PlainAuth {
    const key = `plain:${cookieCache}`
    if (!this.auths.has(key)) this.auths.set(key, plainAuth(this.pool.get(), cookieCache))
    return this.auths.get(key) as PlainAuth
  }

  /** Better Auth with the API-key plugin, its rate limit on (default) or off. */
  keyAuth(rateLimit: boolean): KeyAuth {
    const key = `key:${rateLimit}`
    if (!this.auths.has(key)) this.auths.set(key, keyAuth(this.pool.get(), rateLimit))
    return this.auths.get(key) as KeyAuth
  }

  /** fusion-auth over the Better Auth instance with that cookie setting. */
  fusion(cookieCache: boolean) {
    let app = this.fusions.get(cookieCache)
    if (app === undefined) {
      app = createAuthSession(this.cookieAuth(cookieCache), { database: this.database })
      this.fusions.set(cookieCache, app)
    }
    return app
  }

  /**
   * fusion-auth with a token rate limit (`RATE_LIMIT`), counted in this process's memory (over
   * the Better Auth of `fusion(false)`) or in Redis (Better Auth's `secondaryStorage`).
   */
  limited(counter: "memory" | "redis") {
    return counter === "memory" ? this.limitedInMemory.get() : this.limitedInRedis.get()
  }

  /** The floor: a bare `@effect/sql-pg` client and a way to run its statements. */
  async floor() {
    const runtime = this.floorRuntime.get()
    const sql = await runtime.runPromise(SqlClient.SqlClient)
    return { sql, run: <A, E>(statement: Effect.Effect<A, E, SqlClient.SqlClient>) => runtime.runPromise(statement) }
  }

  /** The text of the cookie path's one statement for this Better Auth (its own table and column names). */
  async sessionStatement(): Promise<string> {
    const context = (await this.cookieAuth(false).$context) as { version?: string }
    const decision = decide(context, context.version)
    if (decision._tag !== "Native") throw new Error(`the cookie path is handed over here: ${decision.reason}`)
    const { sql } = await this.floor()
    return SessionTable.make(sql, decision.plan, { hiddenSession: new Set(), hiddenUser: new Set() }).text
  }

  /** The text of the token path's one statement alone, for the Better Auth of `fusion(false)` (its user table, columns and plugins). */
  async tokenStatement(): Promise<string> {
    const model = await Effect.runPromise(Effect.provide(CurrentUserModel, UserModel.layer(this.cookieAuth(false).$context)))
    return TokenTable.lookupStatements(model).one
  }

  async close(): Promise<void> {
    await Promise.all([...this.fusions.values(), this.limitedInMemory.peek(), this.limitedInRedis.peek()].map((app) => app?.dispose()))
    await this.redis.peek()?.close()
    await this.floorRuntime.peek()?.dispose()
    await this.pool.peek()?.end()
  }
}
