/**
 * Better Auth's schema as apps configure it, on PGlite and Postgres, each case from an empty
 * database: migrate (Better Auth's, then fusion-auth's), sign up, mint a token, resolve the
 * cookie and the token, the same `Session.user` keys for both (a `returned: false` field in
 * neither), the lock-out on both credentials, and the statements per resolution.
 *
 * The process runs in a time zone east of UTC, so a `timestamp without time zone` read as
 * UTC would be hours off: a session Better Auth calls ended would still answer.
 */
process.env.TZ = "Asia/Kolkata"

import { assert, describe, it } from "@effect/vitest"
import { kyselyAdapter } from "@better-auth/kysely-adapter"
import { betterAuth } from "better-auth"
import { Exit, Redacted } from "effect"
import { Kysely, PostgresDialect } from "kysely"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { SessionResolver } from "../src/effect.ts"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { sqlBackends, testPool } from "./support/databases.ts"
import { fusionAuth as cli } from "./support/cli.ts"
import { countStatements, type WireCounter } from "./support/wire.ts"
import { testPassword } from "./support/password.ts"

interface Case {
  readonly name: string
  readonly options: (pool: pg.Pool) => Record<string, unknown>
  /** Run after the migrations: how an older or Prisma-made schema differs. */
  readonly alter?: (pool: pg.Pool) => Promise<void>
  /** The tables, as the database names them. */
  readonly user: string
  readonly session: string
  /** The user's id in the database: text, uuid or integer. */
  readonly idType: string
}

const cases: ReadonlyArray<Case> = [
  { name: "default ids", options: () => ({}), user: "user", session: "session", idType: "text" },
  { name: 'generateId "uuid"', options: () => ({ advanced: { database: { generateId: "uuid" } } }), user: "user", session: "session", idType: "uuid" },
  { name: "serial ids", options: () => ({ advanced: { database: { generateId: "serial" } } }), user: "user", session: "session", idType: "integer" },
  {
    name: "mapped model and field names",
    options: () => ({
      user: { modelName: "app_users", fields: { email: "email_address", name: "full_name", createdAt: "created_at", emailVerified: "email_verified" } },
      session: { modelName: "app_sessions", fields: { userId: "user_id", expiresAt: "expires_at", token: "session_token" } }
    }),
    user: "app_users",
    session: "app_sessions",
    idType: "text"
  },
  {
    name: "usePlural",
    options: (pool) => ({ database: kyselyAdapter(new Kysely({ dialect: new PostgresDialect({ pool }) }), { type: "postgres", usePlural: true }) }),
    user: "users",
    session: "sessions",
    idType: "text"
  },
  {
    name: "a returned: false additional field",
    options: () => ({ user: { additionalFields: { internalNote: { type: "string", required: false, returned: false, input: false } } } }),
    user: "user",
    session: "session",
    idType: "text"
  },
  {
    name: "timestamp without time zone expiresAt",
    // No refresh: a session read hours off would otherwise be handed to Better Auth as due, and hide it.
    options: () => ({ session: { disableSessionRefresh: true } }),
    alter: async (pool) => void await pool.query(`alter table "session" alter column "expiresAt" type timestamp`),
    user: "user",
    session: "session",
    idType: "text"
  }
]

const NATIVE = /as "s0"/
const errorTag = (exit: Exit.Exit<unknown, unknown>) => (Exit.isFailure(exit) ? (Exit.findErrorOption(exit) as any).value?._tag : undefined)

for (const backend of sqlBackends) {
  describe(`Better Auth's schema as apps configure it, on ${backend.name}`, () => {
    const opened: Array<() => Promise<void>> = []
    afterAll(async () => {
      for (const close of opened.reverse()) await close()
    })

    for (const c of cases) {
      describe(c.name, () => {
        let wire: WireCounter
        let pool: pg.Pool
        beforeAll(async () => {
          const db = await backend.make()
          wire = await countStatements(db.url)
          pool = testPool(wire.url, 2)
          opened.push(async () => {
            await pool.end()
            await wire.close()
            await db.close()
          })
        })

        it("migrates, signs up, mints; cookie and token answer the same user keys, are locked out alike, in one statement each", async () => {
          assert.strictEqual(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset(), -330, "the process runs at UTC+05:30")
          const auth = betterAuth({
            database: pool,
            secret: "matrix-secret-matrix-secret-matrix-0123",
            baseURL: "http://localhost:3000",
            telemetry: { enabled: false },
            emailAndPassword: { enabled: true, password: testPassword },
            plugins: [fusionAuth()],
            ...c.options(pool)
          } as Parameters<typeof betterAuth>[0])
          if (c.name === "usePlural") {
            // Better Auth's migrator runs on its Kysely connection, not on an adapter: the plural tables by hand, as such an app has them.
            await pool.query(PLURAL_SCHEMA)
          }
          await migrate(auth, { url: wire.url })
          await migrate(auth, { url: wire.url }) // idempotent
          await c.alter?.(pool)
          const type = await pool.query(
            `select format_type(a.atttypid, a.atttypmod) as "type" from pg_attribute a where a.attrelid = to_regclass($1) and a.attname = 'userId'`,
            [`"apiToken"`]
          )
          assert.strictEqual(type.rows[0].type, c.idType, "apiToken.userId follows user.id's type")

          const app = createAuthSession(auth, { database: { url: wire.url } })
          opened.push(() => app.dispose())
          const { headers, response } = await (auth.api as any).signUpEmail({
            body: { email: `${c.name.length}.${backend.name}@example.com`, password: "correct horse battery", name: "Matrix" },
            returnHeaders: true
          })
          const userId = String(response.user.id)
          const cookie = (headers as Headers).getSetCookie().map((s) => s.split(";")[0]).join("; ")
          if (c.name === "a returned: false additional field") {
            await pool.query(`update "user" set "internalNote" = 'not for callers' where "id" = $1`, [userId])
          }
          const { info: { id: tokenId } } = await app.tokens.create({ userId, name: "matrix" })
          // Its owner lists, rotates and revokes it: the token rows carry the user's id as the app gives it.
          const listed0 = await app.tokens.list(userId)
          assert.deepStrictEqual(listed0.map((t) => [t.id, t.userId]), [[tokenId, userId]])
          const rotated = await app.tokens.rotate({ userId, tokenId, gracePeriod: 0 })
          await app.tokens.revoke(userId, rotated.info.id)
          const after = await app.tokens.list(userId)
          assert.deepStrictEqual(after.map((t) => t.id).sort(), [tokenId, rotated.info.id].sort())
          assert.isNotNull(after.find((t) => t.id === rotated.info.id)!.revokedAt)
          const { token } = await app.tokens.create({ userId, name: "matrix, live" })
          const resolve = async (h: Record<string, string>) => {
            wire.reset()
            const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers(h))))
            return { exit, statements: [...wire.statements()] }
          }
          const asCookie = { cookie }
          const asToken = { authorization: `Bearer ${Redacted.value(token)}` }

          await resolve(asCookie) // the first request of a runtime also builds it
          const viaCookie = await resolve(asCookie)
          const viaToken = await resolve(asToken)
          assert.isTrue(Exit.isSuccess(viaCookie.exit), String(errorTag(viaCookie.exit)))
          assert.isTrue(Exit.isSuccess(viaToken.exit), String(errorTag(viaToken.exit)))
          const cookieUser = Exit.isSuccess(viaCookie.exit) ? viaCookie.exit.value.user : {}
          const tokenUser = Exit.isSuccess(viaToken.exit) ? viaToken.exit.value.user : {}
          const theirs = await auth.api.getSession({ headers: new Headers(asCookie) })
          assert.deepStrictEqual(Object.keys(cookieUser).sort(), Object.keys(theirs!.user).sort(), "the cookie's user has Better Auth's keys")
          assert.deepStrictEqual(Object.keys(tokenUser).sort(), Object.keys(cookieUser).sort(), "the token's user has the cookie's keys")
          assert.notProperty(tokenUser, "internalNote")
          assert.notProperty(cookieUser, "internalNote")
          assert.strictEqual((tokenUser as { id: unknown }).id, userId)
          assert.strictEqual((cookieUser as { id: unknown }).id, userId)
          assert.strictEqual((tokenUser as { email: unknown }).email, (cookieUser as { email: unknown }).email)
          assert.strictEqual(viaToken.statements.length, 1)
          assert.strictEqual(viaCookie.statements.length, 1)
          assert.match(viaCookie.statements[0]!.text, NATIVE)

          // The session's end, as Better Auth writes and reads it (through its own adapter and driver).
          const sessionToken = Exit.isSuccess(viaCookie.exit) ? viaCookie.exit.value.session!.token : ""
          const ctx = await auth.$context
          await ctx.internalAdapter.updateSession(sessionToken, { expiresAt: new Date(Date.now() + 60 * 60_000) })
          assert.isTrue(Exit.isSuccess((await resolve(asCookie)).exit), "an hour before its end")
          await ctx.internalAdapter.updateSession(sessionToken, { expiresAt: new Date(Date.now() - 60 * 60_000) })
          // Ours first: Better Auth's getSession deletes a session it finds ended.
          assert.strictEqual(errorTag((await resolve(asCookie)).exit), "Anonymous", "an hour after its end, as Better Auth says")
          assert.isNull(await auth.api.getSession({ headers: new Headers(asCookie) }))

          // Better Auth deleted the ended session: a new one, signed in.
          const signedIn = await (auth.api as any).signInEmail({
            body: { email: `${c.name.length}.${backend.name}@example.com`, password: "correct horse battery" },
            returnHeaders: true
          })
          const asNewCookie = { cookie: (signedIn.headers as Headers).getSetCookie().map((s) => s.split(";")[0]).join("; ") }
          assert.isTrue(Exit.isSuccess((await resolve(asNewCookie)).exit))
          await app.users.deactivate(userId)
          assert.strictEqual(errorTag((await resolve(asNewCookie)).exit), "Deactivated")
          assert.strictEqual(errorTag((await resolve(asToken)).exit), "Deactivated")
          const listed = await app.users.list({ deactivated: true })
          assert.deepStrictEqual(listed.map((u) => u.id), [userId])
          await app.users.reactivate(userId)
          assert.isTrue(Exit.isSuccess((await resolve(asToken)).exit))
          const address = `${c.name.length}.${backend.name}@example.com`
          assert.strictEqual((await app.users.findByEmail(address)).id, userId)

          // The CLI, without the app's Better Auth, follows the model the app's migrate() saved.
          const env = { env: { DATABASE_URL: wire.url } }
          const deactivated = await cli(["users", "deactivate", address], env)
          assert.strictEqual(deactivated.code, 0, deactivated.stderr)
          assert.strictEqual(errorTag((await resolve(asToken)).exit), "Deactivated")
          const listed2 = await cli(["--json", "users", "list", "--deactivated"], env)
          assert.strictEqual(listed2.code, 0, listed2.stderr)
          assert.deepStrictEqual((JSON.parse(listed2.stdout) as Array<{ id: unknown }>).map((u) => u.id), [userId])
          // Its own migrate, on Better Auth's default schema, is refused where the app's differs.
          const migrated = await cli(["migrate"], env)
          const own = c.user === "user" && c.name !== "mapped model and field names"
          assert.strictEqual(migrated.code, own ? 0 : 2, migrated.stderr)
          if (!own) assert.match(migrated.stderr, new RegExp(`its user table is "${c.user}"`))
        })
      })
    }
  })
}

/** Better Auth 1.7's schema with plural table names, for the usePlural case. */
const PLURAL_SCHEMA = `
create table "users" ("id" text primary key, "name" text not null, "email" text not null unique, "emailVerified" boolean not null,
  "image" text, "createdAt" timestamptz not null default current_timestamp, "updatedAt" timestamptz not null default current_timestamp);
create table "sessions" ("id" text primary key, "expiresAt" timestamptz not null, "token" text not null unique,
  "createdAt" timestamptz not null default current_timestamp, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text,
  "userId" text not null references "users" ("id") on delete cascade);
create table "accounts" ("id" text primary key, "accountId" text not null, "providerId" text not null,
  "userId" text not null references "users" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text,
  "accessTokenExpiresAt" timestamptz, "refreshTokenExpiresAt" timestamptz, "scope" text, "password" text,
  "createdAt" timestamptz not null default current_timestamp, "updatedAt" timestamptz not null);
create table "verifications" ("id" text primary key, "identifier" text not null, "value" text not null, "expiresAt" timestamptz not null,
  "createdAt" timestamptz not null default current_timestamp, "updatedAt" timestamptz not null default current_timestamp);
`
