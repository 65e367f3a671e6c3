/**
 * Nothing new for a locked-out user (`core/LockOut.ts`): Better Auth opens no session for them
 * (sign-in, sign-up, a verified link's sign-in) and links no account to a user who was locked
 * out before the request (an OAuth sign-in or a `/link-social` finished after the lock-out, nor
 * writes a link's tokens or profile where the provider was linked already; a link begun by an
 * admin impersonating the user is refused once that admin is locked out). A
 * user the request itself creates (held for approval by a ban set at creation) keeps the
 * account it signs up with, and an admin, already checked at the door, may still give one
 * through the admin plugin's endpoints (`/admin/set-user-password`); no other session the
 * request carries may (the anonymous plugin reads any at `/sign-in/social`). Code run outside any request
 * (a seed script) is not a door. Sign-in's refusal is 403 `USER_DEACTIVATED` / `USER_BANNED`, as
 * Better Auth refuses a banned sign-in; a browser's OAuth flow (a link's too) and a magic link go
 * to their error URL with that code (`BrowserRefusals.ts`). Nor is anything taken from them: a
 * sign-in by a mailed proof strips no locked-out user of their accounts and sessions.
 *
 * Where the app gives Better Auth a gate on what an identity provider says (`user.validateUserInfo`),
 * a locked-out user is refused there first, before Better Auth writes a returning user's profile
 * or address (`overrideUserInfo`). fusion-auth adds no gate of its own: with one set, Better Auth
 * wants every `createUser` call to name its source and refuses users created outside a request,
 * which would break an app's seeding.
 */
import type { BetterAuthOptions } from "better-auth"
import { isAPIError } from "better-auth/api"
import { deviceTokenRefusal, linkRedirect, magicLinkRedirect } from "./BrowserRefusals.ts"
import { composeOnce } from "./Composed.ts"
import { keepLockedOutSession } from "./LockOutGuard.ts"
import { isFusionAuthHere, LINK_IMPERSONATOR, lockedOutBehind, lockedOutError, lockOutCode, type LockOutContext, oauthState, pluginOf } from "./LockOutReads.ts"

type Hooks = NonNullable<BetterAuthOptions["databaseHooks"]>
type Context = NonNullable<Parameters<NonNullable<NonNullable<NonNullable<Hooks["account"]>["create"]>["before"]>>[1]>
type Validate = NonNullable<NonNullable<BetterAuthOptions["user"]>["validateUserInfo"]>

/**
 * The users each request has created, by their address and by the moment Better Auth stamps
 * them (an app's own hook, which runs after this one, may rewrite the address): they are new,
 * whatever they were created as.
 */
const created = new WeakMap<object, Set<string>>()
const marks = (user: { readonly email?: unknown; readonly createdAt?: unknown }) => [
  ...(typeof user.email === "string" ? [`email:${user.email.toLowerCase()}`] : []),
  ...(user.createdAt instanceof Date ? [`at:${user.createdAt.getTime()}`] : [])
]

/** Refused (403) while `userId` (or the admin impersonating them) is locked out; `undo` first takes back what the endpoint wrote before this hook. */
export const refuse = async (userId: string, context: unknown, user?: Record<string, unknown>, impersonatedBy?: unknown, undo?: () => Promise<void>) => {
  const locked = await lockedOutBehind(context as LockOutContext, { userId, impersonatedBy }, user)
  if (locked === undefined) return
  await undo?.()
  throw lockedOutError(locked.reason) // "This account is deactivated." / "… banned."
}

/**
 * The siwe plugin writes a known user's wallet row for a new chain, outside any transaction,
 * just before the account that is refused here: taken back with it, or the plugin, finding
 * the row, would never link that chain once the lock-out ends.
 */
const walletWrittenFor = (account: { readonly providerId: string; readonly accountId: string; readonly userId: string }, context: Context) => async () => {
  if (account.providerId !== "siwe" || pluginOf(context.context.options, "siwe") === undefined) return
  const at = account.accountId.lastIndexOf(":") // `${address}:${chainId}`
  await context.context.adapter.deleteMany({
    model: "walletAddress",
    where: [
      { field: "userId", value: account.userId },
      { field: "address", value: account.accountId.slice(0, at) },
      { field: "chainId", value: Number(account.accountId.slice(at + 1)) }
    ]
  })
}

/** The user an OAuth link flow's state names, the admin who was impersonating them when it began, and its error URL. */
const linkTarget = async (): Promise<{ readonly userId: string; readonly impersonatedBy: unknown; readonly errorURL: unknown } | undefined> => {
  const state = await oauthState()
  const userId = state?.link?.userId
  return typeof userId === "string" ? { userId, impersonatedBy: state?.serverContext?.[LINK_IMPERSONATOR], errorURL: state?.errorURL } : undefined
}

/**
 * `refused`, in the shape Better Auth gives its own refusals where it sends a browser or
 * answers a device (`BrowserRefusals.ts`): an OAuth link's (`link`) to the flow's error URL, a
 * magic link's to its error callback, a device's poll for its token as RFC 8628's `access_denied`.
 */
const shapedRefusal = (context: unknown, refused: Promise<void>, link?: { readonly errorURL: unknown }) =>
  refused.catch((error: unknown) => {
    if (!isAPIError(error)) throw error
    throw link !== undefined ? linkRedirect(context, link.errorURL, error) : (magicLinkRedirect(context, error) ?? deviceTokenRefusal(context, error) ?? error)
  })

/**
 * An OAuth link's writes (its account's tokens, `updateUserInfoOnLink`'s profile) where the
 * provider was already linked: no account is created, so the flow's state names the user.
 */
const refuseLinkTarget = async (context: unknown) => {
  const link = context == null ? undefined : await linkTarget()
  if (link !== undefined) await shapedRefusal(context, refuse(link.userId, context, undefined, link.impersonatedBy), link)
}

/** Sign-ins by a mailed proof: Better Auth strips a user whose address was never verified of every account and session first. */
const MAILED_PROOF = /^\/(?:magic-link\/verify|sign-in\/email-otp)$/

/**
 * Not from a locked-out user, whose refusal comes after: their password and sessions would be
 * gone for good. Refused (as the sign-in) before the first account or session is deleted.
 */
const keepFromLockedOut = async (userId: string, context: Context | null | undefined) => {
  if (context != null && MAILED_PROOF.test(context.path ?? "") && isFusionAuthHere(context as unknown as LockOutContext)) {
    await shapedRefusal(context, refuse(userId, context))
  }
}

export const databaseHooks = {
  user: {
    create: {
      before: async (user, context) => {
        if (context == null) return
        let seen = created.get(context)
        if (seen === undefined) created.set(context, (seen = new Set()))
        for (const mark of marks(user)) seen.add(mark)
      }
    },
    update: { before: async (_user, context) => refuseLinkTarget(context) }
  },
  session: {
    create: { before: async (session, context) => (context == null ? undefined : shapedRefusal(context, refuse(session.userId, context))) },
    update: { before: keepLockedOutSession }, // a refresh of a locked-out user's session keeps it as it was
    delete: { before: async (session, context) => keepFromLockedOut(session.userId, context) }
  },
  account: {
    create: {
      before: async (account, context) => {
        if (context == null) return
        // An admin acting on someone else (the admin plugin's endpoints; their session checked at the door).
        const actor = context.context.session?.user.id
        if (actor !== undefined && actor !== account.userId && context.path?.startsWith("/admin/") === true) return
        const user = await context.context.internalAdapter.findUserById(account.userId)
        if (user === null || marks(user).some((mark) => created.get(context)?.has(mark) === true)) return
        const link = await linkTarget()
        const refused = refuse(account.userId, context, user, link?.userId === account.userId ? link.impersonatedBy : undefined, walletWrittenFor(account, context))
        await shapedRefusal(context, refused, link?.userId === account.userId ? link : undefined)
      }
    },
    update: { before: async (_account, context) => refuseLinkTarget(context) },
    delete: { before: async (account, context) => keepFromLockedOut(account.userId, context) }
  }
} satisfies Hooks

/** The app's own `validateUserInfo`, with a locked-out user refused before it; changed in place, at `init`. */
export const gateUserInfo = (options: { user?: { validateUserInfo?: Validate | undefined } | undefined }): void => {
  if (options.user === undefined) return
  composeOnce(options.user, "validateUserInfo", (app) =>
    app === undefined ? undefined : async (data, context) => {
      const ctx = context as unknown as LockOutContext
      const locked = typeof data.user.id === "string" && isFusionAuthHere(ctx) ? await lockedOutBehind(ctx, { userId: data.user.id }) : undefined
      if (locked === undefined) return app(data, context)
      const { code, message } = lockOutCode(locked.reason)
      return { error: code, errorDescription: message }
    })
}
