/**
 * The clients the contenders share on one database URL, made on first use and closed
 * together: one `pg` pool for every Better Auth instance, a fusion-auth runtime over each
 * cookie setting, and the bare `@effect/sql-pg` client of the floor. Every pool holds at
 * most 16 connections (fusion-auth's own default), so no contender has more than another.
 */
import { PgClient } from "@effect/sql-pg"
import { type Effect, ManagedRuntime, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import pg from "pg"
import { createAuthSession } from "../src/index.ts"
import { cookieAuth, type CookieAuth, keyAuth, type KeyAuth } from "./auth.ts"

export const POOL_SIZE = 16

const memo = <A>(make: () => A) => {
  let value: A | undefined
  return { get: () => (value ??= make()), peek: () => value }
}

export class Clients {
  readonly url: string
  private readonly pool = memo(() => {
    const pool = new pg.Pool({ connectionString: this.url, max: POOL_SIZE })
    pool.on("error", () => undefined)
    return pool
  })
  private readonly auths = new Map<string, CookieAuth | KeyAuth>()
  private readonly fusions = new Map<boolean, ReturnType<typeof createAuthSession<CookieAuth>>>()
  private readonly floorRuntime = memo(() =>
    ManagedRuntime.make(PgClient.layer({ url: Redacted.make(this.url), maxConnections: POOL_SIZE }))
  )

  constructor(url: string) {
    this.url = url
  }

  /** Better Auth as fusion-auth wraps it, with its cookie cache off or on. */
  cookieAuth(cookieCache: boolean): CookieAuth {
    const key = `cookie:${cookieCache}`
    if (!this.auths.has(key)) this.auths.set(key, cookieAuth(this.pool.get(), cookieCache))
    return this.auths.get(key) as CookieAuth
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
      app = createAuthSession(this.cookieAuth(cookieCache), { database: { url: this.url } })
      this.fusions.set(cookieCache, app)
    }
    return app
  }

  /** The floor: a bare `@effect/sql-pg` client and a way to run its statements. */
  async floor() {
    const runtime = this.floorRuntime.get()
    const sql = await runtime.runPromise(SqlClient.SqlClient)
    return { sql, run: <A, E>(statement: Effect.Effect<A, E, SqlClient.SqlClient>) => runtime.runPromise(statement) }
  }

  async close(): Promise<void> {
    await Promise.all([...this.fusions.values()].map((app) => app.dispose()))
    await this.floorRuntime.peek()?.dispose()
    await this.pool.peek()?.end()
  }
}
