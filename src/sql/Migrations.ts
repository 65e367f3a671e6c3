/**
 * fusion-auth's schema, through `PgMigrator`: the `apiToken` and `fusionAuditEvent` tables
 * and the `deactivatedAt` column on Better Auth's `user` table (which must exist first: see `migrate` in
 * `createAuthSession`, which runs Better Auth's migrations before these).
 */
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/** Recorded in its own table, so an app's own Effect migrations never collide with these. */
export const TABLE = "fusionAuthMigrations"

export const migrations = {
  "0001_api_tokens": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`alter table "user" add column if not exists "deactivatedAt" timestamptz`
    yield* sql`create table "apiToken" (
      "id" text primary key,
      "userId" text not null references "user" ("id") on delete cascade,
      "name" text not null,
      "digest" text not null,
      "hint" text not null,
      "createdAt" timestamptz not null,
      "expiresAt" timestamptz,
      "lastUsedAt" timestamptz,
      "revokedAt" timestamptz
    )`
    yield* sql`create unique index "apiToken_digest_key" on "apiToken" ("digest")`
    yield* sql`create index "apiToken_userId_idx" on "apiToken" ("userId")`
  }),
  "0002_token_product": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`alter table "apiToken" add column "scopes" text[] not null default '{}'`
    yield* sql`alter table "apiToken" add column "replacedBy" text`
    yield* sql`create table "fusionAuditEvent" (
      "seq" bigint generated always as identity,
      "id" text primary key,
      "at" timestamptz not null,
      "action" text not null,
      "actorId" text,
      "userId" text,
      "tokenId" text,
      "detail" text
    )`
    yield* sql`create index "fusionAuditEvent_userId_idx" on "fusionAuditEvent" ("userId", "at")`
  }),
  "0003_token_lineage": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The token that minted this one; earlier tokens have none, and answer as before.
    yield* sql`alter table "apiToken" add column "parentId" text`
    yield* sql`create index "apiToken_parentId_idx" on "apiToken" ("parentId") where "parentId" is not null`
    // Which credential acted ("token:<id>", "session:<id>"); earlier events have none.
    yield* sql`alter table "fusionAuditEvent" add column "actorCredential" text`
  })
}

/** Runs what has not run yet; safe to call on every start. pg_dump schema files are not written. */
export const run = PgMigrator.make({})({ loader: PgMigrator.fromRecord(migrations), table: TABLE })
