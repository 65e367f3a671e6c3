/** The token table in memory: the same operations as `sql/TokenTable.ts`, over `MemoryDatabase`. */
import { lockOutFields } from "../core/LockOut.ts"
import { Effect } from "effect"
import type { ListedToken, TokenRecord, TokenTable } from "../core/Tables.ts"
import { MemoryDatabase } from "./MemoryDatabase.ts"
import * as UserLock from "./UserLock.ts"

/** A user's row in an organization, as the organization plugin's `member` table would hold it. */
const memberIn = (db: MemoryDatabase["Service"], organizationId: string, userId: string) =>
  db.members.get(MemoryDatabase.memberKey(organizationId, userId))

/** The role of the member row a token was minted under (any row of its owner there, for a token that recorded none). */
const memberRoleOf = (db: MemoryDatabase["Service"], record: TokenRecord): string | null => {
  const member = record.organizationId === null ? undefined : memberIn(db, record.organizationId, record.userId)
  return member === undefined || (record.memberId !== null && member.id !== record.memberId) ? null : member.role
}

/** Removed for good: the member row the token was minted under is gone (one that recorded none may come back). */
const removed = (db: MemoryDatabase["Service"], record: TokenRecord) => record.memberId !== null && memberRoleOf(db, record) === null

const listed = (db: MemoryDatabase["Service"], which: (record: TokenRecord) => boolean): ReadonlyArray<ListedToken> =>
  [...db.tokens.values()].filter(which).map((record) => ({ ...record, removed: removed(db, record) }))

export const make = (db: MemoryDatabase["Service"]): TokenTable => ({
  ...UserLock.make(db),
  liveCount: (userId, now) =>
    Effect.sync(() =>
      [...db.tokens.values()].filter((t) =>
        t.userId === userId && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now) && !removed(db, t)
      ).length
    ),
  insert: (record) => Effect.sync(() => void db.tokens.set(record.id, record)),
  list: (userId) => Effect.sync(() => listed(db, (t) => t.userId === userId)),
  listByOrganization: (organizationId) => Effect.sync(() => listed(db, (t) => t.organizationId === organizationId)),
  membership: (organizationId, userId) =>
    Effect.sync(() => {
      const member = memberIn(db, organizationId, userId)
      return member && { id: member.id, role: member.role }
    }),
  find: (by) =>
    Effect.sync(() => "id" in by ? db.tokens.get(by.id) : [...db.tokens.values()].find((t) => t.digest === by.digest)),
  ownerOf: (by) =>
    Effect.sync(() => ("id" in by ? db.tokens.get(by.id) : [...db.tokens.values()].find((t) => t.digest === by.digest))?.userId),
  descendants: (id) =>
    Effect.sync(() => {
      const found: Array<TokenRecord> = []
      for (let parents = new Set([id]); parents.size > 0;) {
        const children = [...db.tokens.values()].filter((t) => t.parentId !== null && parents.has(t.parentId))
        found.push(...children)
        parents = new Set(children.map((t) => t.id))
      }
      return found
    }),
  update: (id, changes) => Effect.sync(() => void db.tokens.set(id, { ...db.tokens.get(id)!, ...changes })),
  lookup: (digest) =>
    Effect.sync(() => {
      const record = [...db.tokens.values()].find((t) => t.digest === digest)
      const user = record && db.users.get(record.userId)
      return record && user && {
        tokenId: record.id,
        expiresAt: record.expiresAt,
        revokedAt: record.revokedAt,
        lastUsedAt: record.lastUsedAt,
        scopes: record.scopes,
        rateLimit: record.rateLimit,
        lineageId: record.lineageId ?? record.id,
        organizationId: record.organizationId,
        memberRole: memberRoleOf(db, record),
        user,
        lock: lockOutFields(user)
      }
    }),
  writeLastUsed: (ids, times) =>
    Effect.sync(() =>
      ids.forEach((id, i) => {
        const record = db.tokens.get(id)
        const at = new Date(times[i]!)
        if (record && (record.lastUsedAt === null || record.lastUsedAt < at)) db.tokens.set(id, { ...record, lastUsedAt: at })
      })
    ).pipe(Effect.as([])),
  // Nothing migrates a memory database, so no app has recorded a digest scheme: every secret is allowed.
  digestScheme: () => Effect.succeed(undefined)
})
