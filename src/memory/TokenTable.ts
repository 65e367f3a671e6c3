/** The token table in memory: the same operations as `sql/TokenTable.ts`, over `MemoryDatabase`. */
import { lockOutFields } from "../core/LockOut.ts"
import { Effect } from "effect"
import type { TokenRecord, TokenTable } from "../core/Tables.ts"
import { MemoryDatabase } from "./MemoryDatabase.ts"
import * as UserLock from "./UserLock.ts"

/** A user's member role in an organization, as the organization plugin's `member` table would hold it. */
const roleIn = (db: MemoryDatabase["Service"], organizationId: string, userId: string) =>
  db.members.get(MemoryDatabase.memberKey(organizationId, userId))?.role

export const make = (db: MemoryDatabase["Service"]): TokenTable => ({
  ...UserLock.make(db),
  liveCount: (userId, now) =>
    Effect.sync(() =>
      [...db.tokens.values()].filter((t) =>
        t.userId === userId && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > now)
      ).length
    ),
  insert: (record) => Effect.sync(() => void db.tokens.set(record.id, record)),
  list: (userId) => Effect.sync(() => [...db.tokens.values()].filter((t) => t.userId === userId)),
  listByOrganization: (organizationId) => Effect.sync(() => [...db.tokens.values()].filter((t) => t.organizationId === organizationId)),
  membership: (organizationId, userId) => Effect.sync(() => roleIn(db, organizationId, userId)),
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
        memberRole: record.organizationId === null ? null : roleIn(db, record.organizationId, record.userId) ?? null,
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
    ),
  // Nothing migrates a memory database, so no app has recorded a digest scheme: every secret is allowed.
  digestScheme: () => Effect.succeed(undefined)
})
