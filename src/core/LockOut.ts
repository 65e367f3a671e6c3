/**
 * The lock-out rule, the one place it is decided: a user is locked out while `deactivatedAt`
 * is set (fusion-auth's own column, the app's word), or `deprovisionedAt` (the same, the
 * directory's word: Better Auth's SCIM plugin has no active source for them), or while Better
 * Auth's admin plugin has them `banned` with no `banExpires` or one still ahead. An expired ban
 * locks out nothing. The app's and the directory's are kept apart, so neither lifts the other.
 *
 * Every surface asks this function: both credentials at the choke point, Better Auth's own
 * endpoints (through the plugin), the token endpoints, the CLI and `Users.status`. Pure: the
 * caller reads the row and the clock.
 */

/** Why a user is locked out. The ban's reason text is the app's, and never travels with it. */
export type LockOutReason = "deactivated" | "banned"

/** The fields the rule reads, as Better Auth's user row carries them (the ban fields only with the admin plugin). */
export interface LockOutFields {
  readonly deactivatedAt?: Date | string | null | undefined
  readonly deprovisionedAt?: Date | string | null | undefined
  readonly banned?: boolean | null | undefined
  readonly banExpires?: Date | string | number | null | undefined
}

/** Deactivated by the app (`deactivatedAt`) or by its directory (`deprovisionedAt`); the SQL lists say the same in `sql/UserTable.ts`. */
export const isDeactivated = (user: Pick<LockOutFields, "deactivatedAt" | "deprovisionedAt">): boolean =>
  user.deactivatedAt != null || user.deprovisionedAt != null

/** Why `user` is locked out at `now` (epoch milliseconds), or `undefined` when they are not. */
export const lockOut = (user: LockOutFields, now: number): LockOutReason | undefined => {
  if (isDeactivated(user)) return "deactivated"
  if (user.banned !== true) return undefined
  if (user.banExpires == null) return "banned"
  const until = new Date(user.banExpires).getTime()
  // A ban whose end cannot be read is still a ban: refusing is the safe side.
  return Number.isNaN(until) || until > now ? "banned" : undefined
}

/** The user fields the rule reads, under Better Auth's keys: what a statement must select for it. */
export const LOCK_OUT_KEYS = ["deactivatedAt", "deprovisionedAt", "banned", "banExpires"] as const satisfies ReadonlyArray<keyof LockOutFields>

/** Only the fields the rule reads, copied from a row (a cache or a narrowed answer must never be asked instead). */
export const lockOutFields = (row: Readonly<Record<string, unknown>>): LockOutFields => {
  const fields: Record<string, unknown> = {}
  for (const key of LOCK_OUT_KEYS) fields[key] = row[key]
  return fields as LockOutFields
}

/**
 * What the plugin's `/get-session` hook read, by primary key, about the user it answered for.
 * The choke point hands a request over with an empty probe under `PROBE` (a symbol: nothing
 * that arrives over HTTP can carry one); the hook fills it, so the hand-over reads the lock-out
 * once, and leaves that caller's answer whole for the choke point to decide on.
 */
export interface LockOutProbe {
  userId?: string
  fields?: LockOutFields
  /** The admin plugin's `impersonatedBy` of the session row Better Auth read (`null`: none), which a narrowed answer may have dropped. */
  impersonatedBy?: string | null
}

export const PROBE: unique symbol = Symbol.for("fusion-auth/lock-out-probe")
