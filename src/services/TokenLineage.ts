/**
 * A token never outlives the token that minted it: the parent a new token is bounded by,
 * and its descendants ended with it. Runs inside `TokenStore`'s transactions; the pure rule
 * (`boundedByParent`) is in `core/TokenRules.ts`.
 */
import { Effect } from "effect"
import { InvalidToken } from "../core/Errors.ts"
import type { TokenTable } from "../core/Tables.ts"
import { boundedByParent } from "../core/TokenRules.ts"
import { describe } from "../core/TokenTypes.ts"
import type { AuditLog } from "./AuditLog.ts"

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

/** What a rotated token minted ends when its grace does. */
export const endDescendantsBy = (table: TokenTable, id: string, end: Date) =>
  Effect.gen(function*() {
    for (const child of yield* table.descendants(id)) {
      const bounded = boundedByParent(child.expiresAt, { expiresAt: end })
      if (child.revokedAt === null && bounded !== child.expiresAt) yield* table.update(child.id, { expiresAt: bounded })
    }
  })

/** Every live descendant of a token just revoked, revoked at the same time, each with its own audit event. */
export const revokeDescendants = (
  deps: { readonly table: TokenTable; readonly audit: AuditLog["Service"] },
  id: string,
  revokedAt: Date,
  actor: { readonly actorId: string | null; readonly actorCredential: string | null }
) =>
  Effect.gen(function*() {
    for (const child of yield* deps.table.descendants(id)) {
      if (child.revokedAt !== null) continue
      yield* deps.table.update(child.id, { revokedAt })
      yield* deps.audit.record({
        ...actor,
        action: "token.revoked",
        userId: child.userId,
        tokenId: child.id,
        detail: `${describe(child)} with its ancestor ${id}`
      })
    }
  })
