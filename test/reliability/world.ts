/**
 * A live world for the hostile-input suites: an embedded PGlite behind a statement counter,
 * real Better Auth, the real resolver, and one of every credential state (live, revoked,
 * expired, deactivated, well-formed but never issued), made fresh for each run.
 */
import { createHmac } from "node:crypto"
import { crc32 } from "node:zlib"
import { Cause, Exit, Option, Redacted } from "effect"
import { ApiToken, SessionResolver } from "../../src/effect.ts"
import { createAuthSession } from "../../src/index.ts"
import { makeAuth, migrate, signUp } from "../support/auth.ts"
import { pglite, type TestDatabase } from "../support/databases.ts"
import { countStatements, type WireCounter } from "../support/wire.ts"

/** The secret `makeAuth` gives Better Auth: the test may sign cookies exactly as Better Auth does. */
const BETTER_AUTH_SECRET = "test-secret-test-secret-test-secret-0123"
export const SESSION_COOKIE = "better-auth.session_token"

/** What one request resolved to, in the words the fixtures use. */
export type Outcome =
  | { readonly kind: "session"; readonly userId: string; readonly credential: "cookie" | "token" }
  | { readonly kind: "Anonymous" }
  | { readonly kind: "Deactivated"; readonly credential: "cookie" | "token" }
  | { readonly kind: "InvalidToken"; readonly reason: string }
  | { readonly kind: "defect"; readonly cause: string }

/** `session`, `Anonymous`, `Deactivated`, `InvalidToken/<reason>` or `defect`. */
export const label = (outcome: Outcome): string =>
  outcome.kind === "InvalidToken" ? `InvalidToken/${outcome.reason}` : outcome.kind

export interface Credentials {
  readonly userId: string
  /** The plaintext API token. */
  readonly token: string
  /** The whole `name=value` pair a browser sends. */
  readonly cookie: string
  /** The cookie's value as sent: URL-encoded `<session token>.<signature>`. */
  readonly cookieValue: string
  /** Better Auth's session token, the part before the signature. */
  readonly sessionToken: string
  /** The cookie-cache pair (`better-auth.session_data=…`) when the cache is on, else `undefined`. */
  readonly sessionData: string | undefined
}

export interface World {
  readonly app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
  readonly auth: ReturnType<typeof makeAuth>["auth"]
  readonly live: Credentials
  /** A user an admin deactivated, with the cookie and token they held. */
  readonly deactivated: Credentials
  readonly revokedToken: string
  readonly expiredToken: string
  /** Well formed, good checksum, never issued. */
  readonly unknownToken: string
  /** Runs the real resolver; also reports how many statements reached the database. */
  resolve(headers: Headers): Promise<{ readonly outcome: Outcome; readonly statements: number }>
  /** Statements resolutions have cost since the world was made. */
  readonly totalStatements: () => number
  /** Runs SQL directly (Better Auth's pool), for checks on the tables themselves. */
  query<R>(text: string, values?: ReadonlyArray<unknown>): Promise<ReadonlyArray<R>>
  close(): Promise<void>
}

/** A cookie value signed with Better Auth's secret, as Better Auth itself signs one. */
export const signCookieValue = (raw: string): string =>
  encodeURIComponent(`${raw}.${createHmac("sha256", BETTER_AUTH_SECRET).update(raw).digest("base64")}`)

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

/**
 * A token with a correct checksum over any body: how a forger who read the docs would make
 * one. Kept here, not exported by the library; `world.ts` checks it agrees with `ApiToken.parse`.
 */
export const withChecksum = (body: string): string => {
  let n = crc32(body)
  let sum = ""
  for (let i = 0; i < 6; i++) {
    sum = ALPHABET[n % 62] + sum
    n = Math.floor(n / 62)
  }
  return body + sum
}

let emails = 0
const email = (who: string) => `${who}${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

const credentials = async (app: World["app"], auth: World["auth"], who: string): Promise<Credentials> => {
  const { userId, cookie } = await signUp(auth, email(who))
  const { token } = await app.tokens.create({ userId, name: who })
  const pairs = cookie.split("; ")
  const pair = pairs.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!
  const cookieValue = pair.slice(SESSION_COOKIE.length + 1)
  return {
    userId,
    token: Redacted.value(token),
    cookie: pair,
    cookieValue,
    sessionToken: decodeURIComponent(cookieValue).split(".")[0]!,
    sessionData: pairs.find((c) => c.startsWith("better-auth.session_data="))
  }
}

/** A resolver's Exit in the fixtures' words; a failure that is none of the three errors is a `defect`. */
export const outcomeOf = (exit: Exit.Exit<{ readonly user: { readonly id: string }; readonly session: unknown }, unknown>): Outcome => {
  if (Exit.isSuccess(exit)) {
    return { kind: "session", userId: exit.value.user.id, credential: exit.value.session === null ? "token" : "cookie" }
  }
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isNone(error)) return { kind: "defect", cause: Cause.pretty(exit.cause) }
  const e = error.value as { readonly _tag?: string; readonly reason?: string; readonly credential?: "cookie" | "token" }
  switch (e._tag) {
    case "Anonymous":
      return { kind: "Anonymous" }
    case "Deactivated":
      return { kind: "Deactivated", credential: e.credential! }
    case "InvalidToken":
      return { kind: "InvalidToken", reason: e.reason! }
    default:
      return { kind: "defect", cause: `untyped failure ${String(e._tag)}` }
  }
}

export const makeWorld = async (options: { readonly cookieCache?: boolean } = {}): Promise<World> => {
  const db: TestDatabase = await pglite.make()
  const wire: WireCounter = await countStatements(db.url)
  const { auth, pool } = makeAuth(wire.url, { cookieCache: options.cookieCache ?? false })
  await migrate(auth, { url: wire.url })
  // lastUsedAt is flushed only at dispose, so no background write lands inside a counted request.
  const app = createAuthSession(auth, { database: { url: wire.url }, tokens: { lastUsedInterval: "1 hour" } })

  const live = await credentials(app, auth, "live")
  const deactivated = await credentials(app, auth, "gone")
  await app.users.deactivate(deactivated.userId)

  const revoked = await app.tokens.create({ userId: live.userId, name: "revoked" })
  await app.tokens.revoke(live.userId, revoked.info.id)
  const expired = await app.tokens.create({ userId: live.userId, name: "expired" })
  await pool.query(`update "apiToken" set "expiresAt" = now() - interval '1 hour' where "id" = $1`, [expired.info.id])

  const unknownToken = withChecksum(`${ApiToken.PREFIX}${"Z".repeat(32)}`)
  if (ApiToken.parse(unknownToken) === undefined) throw new Error("withChecksum disagrees with ApiToken.parse")

  let total = 0
  return {
    app,
    auth,
    live,
    deactivated,
    revokedToken: Redacted.value(revoked.token),
    expiredToken: Redacted.value(expired.token),
    unknownToken,
    resolve: async (headers) => {
      wire.reset()
      const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(headers)))
      const statements = wire.statements().length
      total += statements
      return { outcome: outcomeOf(exit), statements }
    },
    totalStatements: () => total,
    query: async (text, values = []) => (await pool.query(text, [...values])).rows,
    close: async () => {
      await app.dispose()
      await pool.end()
      await wire.close()
      await db.close()
    }
  }
}
