/**
 * The Better Auth instances the contenders use: one per setting compared. All share one
 * `pg` pool per database URL, as an app with one Better Auth would.
 */
import { apiKey } from "@better-auth/api-key"
import { betterAuth, type BetterAuthOptions } from "better-auth"
import type pg from "pg"
import { fusionAuth } from "../src/index.ts"

const base = (pool: pg.Pool) => ({
  database: pool,
  secret: "bench-secret-bench-secret-bench-secret-0123",
  baseURL: "http://localhost:3000",
  telemetry: { enabled: false },
  emailAndPassword: { enabled: true }
})

/** Sessions last the whole run and so does the cookie cache: a static cookie stays valid. */
const session = (cookieCache: boolean) => ({
  expiresIn: 60 * 60 * 24 * 7,
  cookieCache: { enabled: cookieCache, maxAge: 60 * 60 * 24 }
})

/** What fusion-auth wraps: email and password, the fusionAuth() plugin, the cookie cache off or on. */
export const cookieAuth = (pool: pg.Pool, cookieCache: boolean) =>
  betterAuth({ ...base(pool), session: session(cookieCache), plugins: [fusionAuth()] })

export type CookieAuth = ReturnType<typeof cookieAuth>

/**
 * The same, the cookie cache off, with `secondaryStorage`: fusion-auth's rate limits then count
 * there (Better Auth also keeps its sessions there, which the token path never reads).
 */
export const storageAuth = (pool: pg.Pool, secondaryStorage: NonNullable<BetterAuthOptions["secondaryStorage"]>) =>
  betterAuth({ ...base(pool), session: session(false), secondaryStorage, plugins: [fusionAuth()] })

export type StorageAuth = ReturnType<typeof storageAuth>

/**
 * Plain Better Auth, as an app without fusion-auth runs it: the same settings and database,
 * no fusionAuth() plugin (whose lock-out hook adds a primary-key read to `/get-session`).
 */
export const plainAuth = (pool: pg.Pool, cookieCache: boolean) =>
  betterAuth({ ...base(pool), session: session(cookieCache) })

export type PlainAuth = ReturnType<typeof plainAuth>

/**
 * What a user would pick instead of fusion-auth tokens: `@better-auth/api-key` with
 * `enableSessionForAPIKeys`, its rate limit at its default (on: each request counted in the
 * key's row) or off (its best case).
 */
export const keyAuth = (pool: pg.Pool, rateLimit: boolean, options: Partial<BetterAuthOptions> = {}) =>
  betterAuth({
    ...base(pool),
    session: session(false),
    ...options,
    plugins: [apiKey(rateLimit ? { enableSessionForAPIKeys: true } : { enableSessionForAPIKeys: true, rateLimit: { enabled: false } })]
  })

export type KeyAuth = ReturnType<typeof keyAuth>

/** Every plugin at once: its migrations create every table any contender reads. */
export const schemaAuth = (pool: pg.Pool) =>
  betterAuth({ ...base(pool), session: session(true), plugins: [fusionAuth(), apiKey({ enableSessionForAPIKeys: true })] })

/** The header each credential travels in. */
export const bearer = (token: string) => new Headers({ authorization: `Bearer ${token}` })
export const xApiKey = (key: string) => new Headers({ "x-api-key": key })
