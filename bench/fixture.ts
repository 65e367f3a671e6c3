/**
 * The data every contender reads, made once per database: Better Auth's and fusion-auth's
 * migrations, browser sessions signed up through `auth.handler`, and for each of many users
 * one fusion-auth token and one API key. Plain data, so a child process can be given it.
 * It holds secrets: it is never printed and never written to the results.
 */
import { Redacted } from "effect"
import pg from "pg"
import { ApiToken } from "../src/effect.ts"
import { createAuthSession, migrate } from "../src/index.ts"
import { cookieAuth, keyAuth, schemaAuth } from "./auth.ts"

export interface Fixture {
  /** Owner of each cookie, in order. */
  readonly cookieUsers: ReadonlyArray<string>
  /** `Cookie` headers: the session token alone (cache off), and with Better Auth's cached session (cache on). */
  readonly cookiesOff: ReadonlyArray<string>
  readonly cookiesOn: ReadonlyArray<string>
  /** The session token inside each cookie (signature dropped): what the session floor looks up. */
  readonly sessionTokens: ReadonlyArray<string>
  /** Owner of each token and of each API key, in order. */
  readonly tokenUsers: ReadonlyArray<string>
  readonly tokens: ReadonlyArray<string>
  /** The digest of each token: what the floor looks up. */
  readonly digests: ReadonlyArray<string>
  readonly apiKeys: ReadonlyArray<string>
}

export interface FixtureSize {
  readonly sessions: number
  readonly tokens: number
}

const PARALLEL = 8

const inBatches = async <A, B>(items: ReadonlyArray<A>, size: number, f: (a: A) => Promise<B>) => {
  const out: Array<B> = []
  for (let at = 0; at < items.length; at += size) out.push(...(await Promise.all(items.slice(at, at + size).map(f))))
  return out
}

const signUp = async (auth: ReturnType<typeof cookieAuth>, n: number) => {
  const email = `browser${n}.${Math.random().toString(36).slice(2, 8)}@example.com`
  const response = await auth.handler(
    new Request("http://localhost:3000/api/auth/sign-up/email", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({ email, password: "correct horse battery", name: `Browser ${n}` })
    })
  )
  if (response.status !== 200) throw new Error(`sign-up failed with status ${response.status}`)
  const { user } = (await response.json()) as { user: { id: string } }
  const cookies = response.headers.getSetCookie().map((c) => c.split(";")[0]!)
  return {
    userId: user.id,
    on: cookies.join("; "),
    off: cookies.filter((c) => c.startsWith("better-auth.session_token=")).join("; ")
  }
}

export const makeFixture = async (url: string, size: FixtureSize): Promise<Fixture> => {
  const pool = new pg.Pool({ connectionString: url, max: 8 })
  pool.on("error", () => undefined)
  const app = createAuthSession(cookieAuth(pool, false), { database: { url } })
  try {
    await migrate(schemaAuth(pool), { url })
    const browser = cookieAuth(pool, true)
    const browsers = await inBatches(Array.from({ length: size.sessions }, (_, n) => n), PARALLEL, (n) => signUp(browser, n))

    // Token owners are inserted as rows: what the token paths read is the row, not how it was made.
    const tokenUsers = Array.from({ length: size.tokens }, (_, i) => `bench_user_${i}_${Math.random().toString(36).slice(2, 8)}`)
    await pool.query(
      `insert into "user" ("id", "name", "email", "emailVerified", "createdAt", "updatedAt")
       select id, 'Token user', id || '@example.com', false, now(), now() from unnest($1::text[]) as id`,
      [tokenUsers]
    )
    const tokens = await inBatches(tokenUsers, PARALLEL, async (userId) => {
      const { token } = await app.tokens.create({ userId, name: "bench" })
      return ApiToken.parse(Redacted.value(token))!
    })
    const keys = keyAuth(pool, true)
    const apiKeys = await inBatches(tokenUsers, PARALLEL, async (userId) => {
      // The plugin's default allowance is 10 requests a day per key: raised, so the bench times accepted requests.
      const created = await keys.api.createApiKey({ body: { userId, rateLimitMax: 1_000_000_000 } })
      return created.key
    })
    return {
      cookieUsers: browsers.map((b) => b.userId),
      cookiesOff: browsers.map((b) => b.off),
      cookiesOn: browsers.map((b) => b.on),
      sessionTokens: browsers.map((b) => decodeURIComponent(b.off.slice(b.off.indexOf("=") + 1)).split(".")[0]!),
      tokenUsers,
      tokens: tokens.map((t) => Redacted.value(t)),
      digests: tokens.map((t) => ApiToken.digest(t)),
      apiKeys
    }
  } finally {
    await app.dispose()
    await pool.end()
  }
}
