/**
 * The `apiToken` table on Postgres: every statement `TokenStore` and `LastUsed` run.
 *
 * `lookup` is the request path's one statement: the token joined with its owner by the
 * digest's unique index. The owner is read as the app's Better Auth model has it
 * (`UserModel`: its table, its columns, its output rule), so a token caller's user has the
 * keys a cookie caller's has; every column is aliased so none can shadow another.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import type { User } from "../core/Session.ts"
import type { Membership, TokenLookup, TokenRecord, TokenTable } from "../core/Tables.ts"
import { type MemberModel, type UserModel, userReader } from "../core/UserModel.ts"
import * as Batch from "./Batch.ts"
import { quote, selectList } from "./Columns.ts"
import * as DigestScheme from "./DigestScheme.ts"
import * as UserLock from "./UserLock.ts"

/** `sent` records each lookup statement's key count (`Metrics.statementSent("token")`, from the layer building it); left out, nothing is. */
export const make = (sql: SqlClient.SqlClient, model: UserModel, sent: (keys: number) => void = () => undefined): TokenTable => ({
  ...UserLock.make(sql, model),
  ...lookupOf(sql, model, sent),
  liveCount: (userId, now) =>
    sql.unsafe<{ n: number }>(
      `select count(*)::int as "n" from "apiToken" t where t."userId" = $1
      and t."revokedAt" is null and (t."expiresAt" is null or t."expiresAt" > $2) and not ${removedOf(model.member)}`,
      [userId, now]
    ).pipe(
      Effect.map((rows) => rows[0]!.n),
      Effect.orDie
    ),
  insert: (record) => sql`insert into "apiToken" ${sql.insert({ ...record, scopes: pgArray(record.scopes) })}`.pipe(Effect.orDie),
  list: (userId) => listed(sql, model, `t."userId"`, userId),
  listByOrganization: (organizationId) => listed(sql, model, `t."organizationId"`, organizationId),
  membership: (organizationId, userId) => {
    const member = model.member
    if (member === undefined) return Effect.succeed(undefined)
    return sql.unsafe<Membership>(
      `select m.${quote(member.id)}::text as "id", m.${quote(member.role)} as "role" from ${quote(member.table)} m where ${memberOf(member, "$1", "$2")} limit 1`,
      [organizationId, userId]
    ).pipe(Effect.map((rows) => rows[0]), Effect.orDie)
  },
  find: (by) =>
    ("id" in by
      ? sql<TokenRecord>`select * from "apiToken" where "id" = ${by.id} for update`
      : sql<TokenRecord>`select * from "apiToken" where "digest" = ${by.digest} for update`
    ).pipe(Effect.map((rows) => records(rows)[0]), Effect.orDie),
  ownerOf: (by) =>
    ("id" in by
      ? sql<{ userId: unknown }>`select "userId" from "apiToken" where "id" = ${by.id}`
      : sql<{ userId: unknown }>`select "userId" from "apiToken" where "digest" = ${by.digest}`
    ).pipe(Effect.map((rows) => (rows[0] === undefined ? undefined : String(rows[0].userId))), Effect.orDie),
  descendants: (id) =>
    sql<TokenRecord>`with recursive "tree" as (
        select "id" from "apiToken" where "parentId" = ${id}
        union
        select t."id" from "apiToken" t join "tree" on t."parentId" = "tree"."id"
      )
      select * from "apiToken" where "id" in (select "id" from "tree") order by "createdAt", "id" for update`.pipe(Effect.map(records), Effect.orDie),
  update: (id, changes) => sql`update "apiToken" set ${sql.update(changes)} where "id" = ${id}`.pipe(Effect.orDie, Effect.asVoid),
  // A row another transaction holds (a revocation, another instance's flush of the same busy
  // token) is skipped, never waited for, so a flush never deadlocks; the ids answered are those
  // skipped that still need the write, left for a later flush.
  writeLastUsed: (ids, times) =>
    sql<{ id: string }>`with v as (select unnest(${ids}::text[]) as "id", unnest(${times}::timestamptz[]) as "at"),
      l as (
        select t."id" from "apiToken" t join v on t."id" = v."id"
        where t."lastUsedAt" is null or t."lastUsedAt" < v."at" for no key update of t skip locked
      ),
      u as (update "apiToken" as t set "lastUsedAt" = v."at" from v, l where t."id" = v."id" and t."id" = l."id")
      select v."id" from v where not exists (select 1 from l where l."id" = v."id")
        and exists (select 1 from "apiToken" t where t."id" = v."id" and (t."lastUsedAt" is null or t."lastUsedAt" < v."at"))`.pipe(
      Effect.map((rows) => rows.map((row) => row.id)),
      Effect.orDie
    ),
  digestScheme: () => DigestScheme.load(sql)
})

/**
 * The row `m` of the organization plugin's `member` table that makes a user a member of an
 * organization: organization ids compared as text (the plugin's may be uuid, the token's column
 * is text), the user's id as its own type, served by the plugin's index on `userId`.
 */
const memberOf = (member: MemberModel, organizationId: string, userId: string) =>
  `m.${quote(member.organizationId)}::text = ${organizationId} and m.${quote(member.userId)} = ${userId}`

/** The member row `m` is the one token `t` was minted under, where it recorded one: added again, a member is another row. */
const mintedUnder = (member: MemberModel) => `(t."memberId" is null or m.${quote(member.id)}::text = t."memberId")`

/**
 * Whether token `t` is removed for good: the member row it was minted under is gone (the
 * lookup's join can never find it again). One that recorded no row, or any organization's
 * token while the app has no organization plugin, is refused too, but may come back: not removed.
 */
const removedOf = (member: MemberModel | undefined) =>
  member === undefined
    ? "false"
    : `(t."memberId" is not null and not exists (select 1 from ${quote(member.table)} m where ` +
      `${memberOf(member, `t."organizationId"`, `t."userId"`)} and ${mintedUnder(member)}))`

/** Tokens `where` picks (`$1` its value), oldest first, each with whether it is removed. */
const listed = (sql: SqlClient.SqlClient, model: UserModel, where: string, value: string) =>
  sql.unsafe<TokenRecord & { fusionRemoved: boolean }>(
    `select t.*, ${removedOf(model.member)} as "fusionRemoved" from "apiToken" t where ${where} = $1 order by t."createdAt", t."id"`,
    [value]
  ).pipe(Effect.map((rows) => records(rows).map(({ fusionRemoved, ...record }) => ({ ...record, removed: fusionRemoved }))), Effect.orDie)

/** The token's own columns in the request path's row, each under an alias no user column can have. */
const TOKEN_ALIASES = [
  "fusionTokenId",
  "fusionExpiresAt",
  "fusionRevokedAt",
  "fusionLastUsedAt",
  "fusionScopes",
  "fusionRateLimit",
  "fusionLineageId",
  "fusionOrganizationId",
  "fusionMemberRole"
] as const

/**
 * The request path's statements for this model (`Batch.statements`): the token and its owner,
 * with the owner's membership in the token's organization where the app has the organization
 * plugin. `one` is what the benchmark's floor sends bare.
 */
export const lookupStatements = (model: UserModel) => {
  const { member } = model
  const membership = member === undefined
    ? { column: `null::text`, join: "" }
    : {
      column: `m.${quote(member.role)}`,
      join: ` left join ${quote(member.table)} m on ${memberOf(member, `t."organizationId"`, `t."userId"`)} and ${mintedUnder(member)}`
    }
  const token: Record<(typeof TOKEN_ALIASES)[number], string> = {
    fusionTokenId: `t."id"`,
    fusionExpiresAt: `t."expiresAt"`,
    fusionRevokedAt: `t."revokedAt"`,
    fusionLastUsedAt: `t."lastUsedAt"`,
    fusionScopes: `t."scopes"`,
    fusionRateLimit: `t."rateLimit"`,
    fusionLineageId: `coalesce(t."lineageId", t."id")`,
    fusionOrganizationId: `t."organizationId"`,
    fusionMemberRole: membership.column
  }
  const select = `${TOKEN_ALIASES.map((alias) => `${token[alias]} as "${alias}"`).join(", ")}, ${selectList(model, "u", "u")} ` +
    `from "apiToken" t join ${quote(model.table)} u on u."id" = t."userId"${membership.join}`
  return Batch.statements(select, `t."digest"`)
}

/** The request path's lookup: lookups in flight at once share one statement (`Batch`); one alone is `where t."digest" = $1`, as ever. */
const lookupOf = (sql: SqlClient.SqlClient, model: UserModel, sent: (keys: number) => void): Pick<TokenTable, "lookup"> => {
  const readOwner = userReader(model, "u", true)
  // A model that names its columns reads the owner by alias; one that does not (`u.*`) by name, without the token's own.
  const tokens = new Set(["fusionKey", ...TOKEN_ALIASES])
  const ownerOf = model.columns === undefined
    ? (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([key]) => !tokens.has(key)))
    : (row: Record<string, unknown>) => row
  const decode = (row: Record<string, unknown>): TokenLookup => {
    const { user, lock } = readOwner(ownerOf(row))
    return {
      tokenId: row.fusionTokenId as string,
      expiresAt: row.fusionExpiresAt as Date | null,
      revokedAt: row.fusionRevokedAt as Date | null,
      lastUsedAt: row.fusionLastUsedAt as Date | null,
      scopes: row.fusionScopes as ReadonlyArray<string>,
      rateLimit: row.fusionRateLimit as number | null,
      lineageId: row.fusionLineageId as string,
      organizationId: row.fusionOrganizationId as string | null,
      memberRole: row.fusionMemberRole as string | null,
      user: user as unknown as User,
      lock
    }
  }
  return { lookup: Batch.fromStatements(sql, { ...lookupStatements(model), decode, sent }) }
}

/** Token rows as `TokenRecord`s: `userId` a string whatever type the user table's id has (serial ids are integers). */
const records = <R extends TokenRecord>(rows: ReadonlyArray<R>): ReadonlyArray<R> =>
  rows.map((row) => (typeof row.userId === "string" ? row : { ...row, userId: String(row.userId) }))

/** A Postgres array literal parameter for a text[] column. */
const pgArray = (values: ReadonlyArray<string>) => `{${values.map((v) => JSON.stringify(v)).join(",")}}`
