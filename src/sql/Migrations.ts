/**
 * fusion-auth's schema, through `PgMigrator`: the `apiToken` and `fusionAuditEvent` tables,
 * the one-row records of the app's user model and token digest scheme, and the
 * `deactivatedAt` and `deprovisionedAt` columns on Better Auth's `user` table (which must exist first: see `migrate`
 * in `createAuthSession`, which runs Better Auth's migrations before these).
 *
 * Better Auth's table is the app's (`CurrentUserModel`: its name, its columns), and
 * `apiToken.userId` takes the type the database gives `user.id` (text, uuid, integer), so
 * the foreign key holds whatever `generateId` the app chose.
 */
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { columnOf, CurrentUserModel } from "../core/UserModel.ts"
import { quote } from "./Columns.ts"
import { userIdType } from "./Catalog.ts"
import * as DigestScheme from "./DigestScheme.ts"
import * as DirectoryBackfill from "./DirectoryBackfill.ts"
import * as ModelTable from "./ModelTable.ts"

/** Recorded in its own table, so an app's own Effect migrations never collide with these. */
export const TABLE = "fusionAuthMigrations"

export const migrations = {
  "0001_api_tokens": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const model = yield* CurrentUserModel
    const user = quote(model.table)
    yield* sql.unsafe(`alter table ${user} add column if not exists ${quote(columnOf(model, "deactivatedAt"))} timestamptz`)
    const idType = yield* userIdType(sql, user)
    yield* sql.unsafe(`create table "apiToken" (
      "id" text primary key,
      "userId" ${idType} not null references ${user} ("id") on delete cascade,
      "name" text not null,
      "digest" text not null,
      "hint" text not null,
      "createdAt" timestamptz not null,
      "expiresAt" timestamptz,
      "lastUsedAt" timestamptz,
      "revokedAt" timestamptz
    )`)
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
  }),
  "0004_user_model": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The app's Better Auth user model, saved by each migrate() (see ModelTable): for the CLI.
    yield* sql`create table "fusionAuthUserModel" (
      "id" integer primary key check ("id" = 1),
      "model" jsonb not null,
      "savedAt" timestamptz not null
    )`
  }),
  "0005_digest_scheme": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The fingerprint of the app's token secret, recorded by each migrate() (see DigestScheme): never the secret.
    yield* sql`create table "fusionAuthDigestScheme" (
      "id" integer primary key check ("id" = 1),
      "fingerprint" text not null,
      "savedAt" timestamptz not null
    )`
  }),
  "0006_rate_limit": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // A token's own requests per window (TokenPolicy.rateLimit); earlier tokens have none: the policy's default.
    yield* sql`alter table "apiToken" add column if not exists "rateLimit" integer`
    // The first token of its lineage (minting, rotation), which shares its count; earlier tokens: their own id.
    yield* sql`alter table "apiToken" add column if not exists "lineageId" text`
  }),
  "0007_organization_tokens": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The organization a token acts for (Better Auth's organization plugin); earlier tokens act for their user alone.
    // Text whatever the plugin's id type: compared as text, so adding the plugin later needs no change here.
    yield* sql`alter table "apiToken" add column if not exists "organizationId" text`
    yield* sql`create index if not exists "apiToken_organizationId_idx" on "apiToken" ("organizationId") where "organizationId" is not null`
  }),
  "0008_organization_member": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // The member row an organization token was minted under (as text, whatever the plugin's id type):
    // removed and added again, a member is a new row. Earlier tokens have none: any membership holds.
    yield* sql`alter table "apiToken" add column if not exists "memberId" text`
  }),
  "0009_deprovisioned": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const model = yield* CurrentUserModel
    // The directory's deactivation (Better Auth's SCIM plugin), apart from the app's; earlier users have none.
    yield* sql.unsafe(`alter table ${quote(model.table)} add column if not exists ${quote(columnOf(model, "deprovisionedAt"))} timestamptz`)
  })
}

/** Runs what has not run yet; safe to call on every start. pg_dump schema files are not written. */
const migrator = PgMigrator.make({})({ loader: PgMigrator.fromRecord(migrations), table: TABLE })

export interface RunOptions {
  /** Save the app's user model (the app's own migrate; never the CLI's, which would replace it). */
  readonly saveModel: boolean
  /**
   * The digest scheme to record, `TokenSecret.fingerprint(tokenSecret)` of the app's own
   * migrate: it replaces the one recorded before. Absent (the CLI's migrate): the recorded one
   * is left as it is.
   */
  readonly fingerprint?: string | undefined
  /** The SCIM plugin's tables in the app's Better Auth (`DirectoryBackfill`); absent: no SCIM plugin, or the CLI. */
  readonly directory?: DirectoryBackfill.DirectoryTables | undefined
}

/**
 * Runs what has not run yet, then (`saveModel`, the app's own migrate) sets the directory's
 * word on the users it disabled before (`DirectoryBackfill`, once) and saves the app's user
 * model (`ModelTable`) for the processes without its Better Auth, and (`fingerprint`) the
 * app's token digest scheme (`DigestScheme`) for the processes without its secret; safe to
 * call on every start.
 */
export const run = (options: RunOptions) =>
  Effect.gen(function*() {
    const ran = yield* migrator
    const sql = yield* SqlClient.SqlClient
    if (options.saveModel) {
      const model = yield* CurrentUserModel
      // The app's first migrate() that knows the directory's column: the users it had disabled before.
      const saved = options.directory === undefined ? undefined : yield* ModelTable.load(sql)
      if (options.directory !== undefined && saved?.columns.some((c) => c.key === "deprovisionedAt") !== true) {
        yield* DirectoryBackfill.backfill(sql, model, options.directory)
      }
      yield* ModelTable.save(sql, model)
    }
    if (options.fingerprint !== undefined) yield* DigestScheme.save(sql, options.fingerprint)
    return ran
  })
