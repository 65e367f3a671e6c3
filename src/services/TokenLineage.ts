/**
 * A token never outlives the token that minted it: the parent a new token is bounded by,
 * revocation with every descendant, and a rotated token's descendants ended with its grace.
 * Runs inside `TokenStore`'s transactions; the pure rule (`boundedByParent`) is in
 * `core/TokenRules.ts`.
 */
import { Clock, Effect } from "effect"
import { InvalidToken, type TokenNotFound } from "../core/Errors.ts"
import type { TokenRecord, TokenTable } from "../core/Tables.ts"
import { boundedByParent } from "../core/TokenRules.ts"
import { describe, info, type TokenInfo } from "../core/TokenTypes.ts"
import type { AuditLog } from "./AuditLog.ts"

interface Deps {
  readonly table: TokenTable
  readonly audit: AuditLog["Service"]
}

/** Who revoked: a user id or label, and the credential that acted. */
export interface Actor {
  readonly id: string | null
  readonly credential: string | null
}

const event = (actor: Actor) => ({ actorId: actor.id, actorCredential: actor.credential })

/**
 * Revokes inside the caller's transaction, with every descendant (what it minted, and what
 * those minted). Revoking twice keeps the first time and records nothing new, but makes sure
 * of the descendants.
 */
export const revokeRecord = (deps: Deps) =>
  Effect.fn(function*(
    record: TokenRecord | undefined,
    notFound: TokenNotFound,
    action: "token.revoked" | "token.revoked_leaked",
    actor: Actor,
    note?: string
  ) {
    if (record === undefined) return yield* notFound
    if (record.revokedAt !== null) {
      yield* revokeDescendants(deps, record.id, record.revokedAt, actor)
      return info(record) as TokenInfo
    }
    const revokedAt = new Date(yield* Clock.currentTimeMillis)
    yield* deps.table.update(record.id, { revokedAt })
    const detail = note === undefined ? describe(record) : `${describe(record)} ${note}`
    yield* deps.audit.record({ ...event(actor), action, userId: record.userId, tokenId: record.id, detail })
    yield* revokeDescendants(deps, record.id, revokedAt, actor)
    return info({ ...record, revokedAt })
  })

/** The parent a new token is bounded by, locked; a parent that ended meanwhile refuses the mint. */
export const liveParent = (table: TokenTable, parentId: string | null, at: Date) =>
  Effect.gen(function*() {
    if (parentId === null) return undefined
    const parent = yield* table.find({ id: parentId })
    if (parent === undefined) return yield* new InvalidToken({ reason: "unknown" })
    if (parent.revokedAt !== null) return yield* new InvalidToken({ reason: "revoked", tokenId: parent.id })
    if (parent.expiresAt !== null && parent.expiresAt <= at) return yield* new InvalidToken({ reason: "expired", tokenId: parent.id })
    return parent
  })

/**
 * The token to revoke, found after its owner is locked: the order every change to a user's
 * tokens takes (user, then token), so a revocation waits for a mint in flight under the
 * same user and then sees its child.
 */
export const lockedFind = (table: TokenTable, by: { readonly id: string } | { readonly digest: string }) =>
  Effect.gen(function*() {
    const owner = yield* table.ownerOf(by)
    if (owner !== undefined) yield* table.lockUser(owner)
    return yield* table.find(by)
  })

/** What a rotated token minted ends when its grace does. */
export const endDescendantsBy = (table: TokenTable, id: string, end: Date) =>
  Effect.gen(function*() {
    for (const child of yield* table.descendants(id)) {
      const bounded = boundedByParent(child.expiresAt, { expiresAt: end })
      if (child.revokedAt === null && bounded !== child.expiresAt) yield* table.update(child.id, { expiresAt: bounded })
    }
  })

/** Every live descendant of a token just revoked, revoked at the same time, each with its own audit event. */
const revokeDescendants = (deps: Deps, id: string, revokedAt: Date, actor: Actor) =>
  Effect.gen(function*() {
    for (const child of yield* deps.table.descendants(id)) {
      if (child.revokedAt !== null) continue
      yield* deps.table.update(child.id, { revokedAt })
      yield* deps.audit.record({
        ...event(actor),
        action: "token.revoked",
        userId: child.userId,
        tokenId: child.id,
        detail: `${describe(child)} with its ancestor ${id}`
      })
    }
  })
