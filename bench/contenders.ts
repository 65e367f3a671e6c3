/**
 * The contenders: what one resolution is for each, checked on every call (a wrong answer
 * aborts the run rather than being timed). Inputs are built before timing starts and
 * rotate over many users, tokens and keys.
 */
import { randomBytes } from "node:crypto"
import { Redacted } from "effect"
import { ApiToken } from "../src/effect.ts"
import { bearer, xApiKey } from "./auth.ts"
import type { Clients } from "./clients.ts"
import type { Fixture } from "./fixture.ts"

export type Group = "token" | "cookie" | "rejection" | "floor"

/** One resolution, number `i` of the run. Rejects when the answer is not the expected one. */
export type Op = (i: number) => Promise<void>

export interface Contender {
  readonly id: string
  readonly label: string
  readonly group: Group
  /** `distinct`: every call presents a credential never seen before (for the memory run). */
  make(clients: Clients, fixture: Fixture, options?: { readonly distinct?: boolean }): Promise<Op>
}

class WrongAnswer extends Error {
  override readonly name = "WrongAnswer"
}
const expect = (ok: boolean, id: string) => {
  if (!ok) throw new WrongAnswer(`${id}: unexpected answer`)
}

/** Rejects unless `promise` rejects with Better Auth's APIError of this status; another error is rethrown. */
const refusedWith = async (promise: Promise<unknown>, status: string, id: string) => {
  const outcome = await promise.then(
    () => "resolved",
    (error: unknown) => {
      if ((error as { name?: unknown }).name !== "APIError") throw error
      return (error as { status?: unknown }).status
    }
  )
  expect(outcome === status, id)
}

const cycle = <A>(items: ReadonlyArray<A>) => (i: number) => items[i % items.length]!

/** A token of the right shape whose checksum does not match: a typo. */
const mistyped = (token: string) => {
  const at = ApiToken.PREFIX.length
  return token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1)
}
const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
/** A key of the plugin's default shape (64 letters) that it never issued. */
const unknownKey = () => Array.from(randomBytes(64), (b) => letters[b % letters.length]).join("")
/** A well-formed token (right checksum) that was never issued. */
const unknownToken = () => Redacted.value(ApiToken.generate())
const POOL = 1024

const fusionToken: Contender = {
  id: "fusion.token",
  label: "fusion-auth, Bearer token",
  group: "token",
  make: async (clients, fixture) => {
    const app = clients.fusion(false)
    const headers = cycle(fixture.tokens.map(bearer))
    const owner = cycle(fixture.tokenUsers)
    return async (i) => {
      const session = await app.getSession(headers(i))
      expect(session !== null && session.session === null && session.user.id === owner(i), "fusion.token")
    }
  }
}

/**
 * A token through `requireSession`, which counts it against a rate limit when the runtime has
 * one (`getSession` never does): without one (the same runtime as `fusion.token`), counted in
 * memory, or counted in Redis. The limit (`RATE_LIMIT`) is never reached: every request is
 * counted, none refused. A refusal (`requireSession` throws a `Response`) aborts the run.
 */
const requiredToken = (counter: "none" | "memory" | "redis"): Contender => {
  const id = counter === "none" ? "fusion.token.required" : counter === "memory" ? "fusion.token.limited" : "fusion.token.redis"
  return {
    id,
    label: counter === "none" ? "fusion-auth, Bearer token, requireSession" : `fusion-auth, Bearer token, rate limit in ${counter === "memory" ? "memory" : "Redis"}`,
    group: "token",
    make: async (clients, fixture) => {
      const app = counter === "none" ? clients.fusion(false) : clients.limited(counter)
      const headers = cycle(fixture.tokens.map(bearer))
      const owner = cycle(fixture.tokenUsers)
      const refused = (error: unknown) => {
        throw error instanceof Response ? new WrongAnswer(`${id}: refused with ${error.status}`) : error
      }
      return async (i) => {
        const session = await app.requireSession(headers(i)).catch(refused)
        expect(session.session === null && session.user.id === owner(i), id)
      }
    }
  }
}

/** The plugin with its rate limit on (its default: each request counted in the key's row, the keys' limit never reached) or off. */
const apiKeyContender = (rateLimit: boolean): Contender => ({
  id: rateLimit ? "apikey.default" : "apikey.nolimit",
  label: rateLimit ? "api-key plugin, rate limit on (default)" : "api-key plugin, rate limit off",
  group: "token",
  make: async (clients, fixture) => {
    const auth = clients.keyAuth(rateLimit)
    const headers = cycle(fixture.apiKeys.map(xApiKey))
    const owner = cycle(fixture.tokenUsers)
    const id = rateLimit ? "apikey.default" : "apikey.nolimit"
    return async (i) => {
      const session = await auth.api.getSession({ headers: headers(i) })
      expect(session !== null && session.user.id === owner(i), id)
    }
  }
})

const cookieContender = (via: "fusion" | "plain", cookieCache: boolean): Contender => {
  const id = `${via}.cookie.${cookieCache ? "on" : "off"}`
  return {
    id,
    label: `${via === "fusion" ? "fusion-auth" : "plain getSession"}, cookie, cache ${cookieCache ? "on" : "off"}`,
    group: "cookie",
    make: async (clients, fixture) => {
      const cookies = cookieCache ? fixture.cookiesOn : fixture.cookiesOff
      const headers = cycle(cookies.map((cookie) => new Headers({ cookie })))
      const owner = cycle(fixture.cookieUsers)
      const getSession = via === "fusion"
        ? clients.fusion(cookieCache).getSession
        : (h: Headers) => clients.plainAuth(cookieCache).api.getSession({ headers: h })
      return async (i) => {
        const session = await getSession(headers(i))
        expect(session !== null && session.session !== null && session.user.id === owner(i), id)
      }
    }
  }
}

/** A rejection through fusion-auth's `getSession`: `null`, never a session. */
const fusionRejection = (kind: "malformed" | "unknown"): Contender => ({
  id: `fusion.${kind}`,
  label: `fusion-auth, ${kind} token`,
  group: "rejection",
  make: async (clients, fixture, options = {}) => {
    const app = clients.fusion(false)
    const pool = kind === "malformed"
      ? fixture.tokens.map(mistyped)
      : Array.from({ length: POOL }, unknownToken)
    const headers = options.distinct && kind === "unknown" ? () => bearer(unknownToken()) : cycle(pool.map(bearer))
    return async (i) => expect((await app.getSession(headers(i))) === null, `fusion.${kind}`)
  }
})

/** A rejection through the plugin: a key shorter than its length (refused with no I/O), or unknown. */
const apiKeyRejection = (kind: "malformed" | "unknown"): Contender => ({
  id: `apikey.${kind}`,
  label: `api-key plugin, ${kind} key`,
  group: "rejection",
  make: async (clients, fixture, options = {}) => {
    const auth = clients.keyAuth(false)
    const pool = kind === "malformed"
      ? fixture.apiKeys.map((key) => key.slice(0, -1))
      : Array.from({ length: POOL }, unknownKey)
    const headers = options.distinct && kind === "unknown" ? () => xApiKey(unknownKey()) : cycle(pool.map(xApiKey))
    const status = kind === "malformed" ? "FORBIDDEN" : "UNAUTHORIZED"
    return (i) => refusedWith(auth.api.getSession({ headers: headers(i) }), status, `apikey.${kind}`)
  }
})

const floorSelect: Contender = {
  id: "floor.select",
  label: "floor: token ⋈ user SELECT, bare",
  group: "floor",
  make: async (clients, fixture) => {
    const { sql, run } = await clients.floor()
    // The token path's own statement alone (TokenTable's lookup for this Better Auth), sent bare.
    const text = await clients.tokenStatement()
    const digest = cycle(fixture.digests)
    return async (i) => expect((await run(sql.unsafe(text, [digest(i)]))).length === 1, "floor.select")
  }
}

const floorSession: Contender = {
  id: "floor.session",
  label: "floor: session ⋈ user SELECT, bare",
  group: "floor",
  make: async (clients, fixture) => {
    const { sql, run } = await clients.floor()
    // The cookie path's own statement (SessionTable), as Better Auth's schema names it, sent bare.
    const text = await clients.sessionStatement()
    const token = cycle(fixture.sessionTokens)
    return async (i) => expect((await run(sql.unsafe(text, [token(i)]))).length === 1, "floor.session")
  }
}

const floorSelect1: Contender = {
  id: "floor.select1",
  label: "floor: SELECT 1, bare",
  group: "floor",
  make: async (clients) => {
    const { sql, run } = await clients.floor()
    return async () => expect((await run(sql`select 1`)).length === 1, "floor.select1")
  }
}

export const contenders: ReadonlyArray<Contender> = [
  fusionToken,
  requiredToken("none"),
  requiredToken("memory"),
  requiredToken("redis"),
  apiKeyContender(true),
  apiKeyContender(false),
  cookieContender("fusion", false),
  cookieContender("plain", false),
  cookieContender("fusion", true),
  cookieContender("plain", true),
  fusionRejection("malformed"),
  apiKeyRejection("malformed"),
  fusionRejection("unknown"),
  apiKeyRejection("unknown"),
  floorSelect,
  floorSession,
  floorSelect1
]

export const contender = (id: string): Contender => {
  const found = contenders.find((c) => c.id === id)
  if (found === undefined) throw new Error(`no contender ${id}`)
  return found
}
