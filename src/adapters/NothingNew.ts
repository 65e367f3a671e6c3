/**
 * Nothing new for a locked-out user (`core/LockOut.ts`): Better Auth opens no session for them
 * (sign-in, sign-up, a verified link's sign-in) and links no account to a user who was locked
 * out before the request (an OAuth sign-in or a `/link-social` finished after the lock-out). A
 * user the request itself creates (held for approval by a ban set at creation) keeps the
 * account it signs up with, and someone else, already checked at the door (an admin through the
 * admin plugin's `/admin/set-user-password`), may still give one. Code run outside any request
 * (a seed script) is not a door. Sign-in's refusal is 403 `USER_DEACTIVATED` / `USER_BANNED`, as
 * Better Auth refuses a banned sign-in; a browser's OAuth flow goes to its error URL with that code.
 *
 * Where the app gives Better Auth a gate on what an identity provider says (`user.validateUserInfo`),
 * a locked-out user is refused there first, before Better Auth writes a returning user's profile
 * or address (`overrideUserInfo`). fusion-auth adds no gate of its own: with one set, Better Auth
 * asks every user it creates outside a request for a source, which would break an app's seeding.
 */
import type { BetterAuthOptions } from "better-auth"
import { keepLockedOutSession, lockedOutError } from "./LockOutGuard.ts"
import { isFusionAuthHere, lockedOutBehind, lockOutCode, type LockOutContext } from "./LockOutReads.ts"

type Hooks = NonNullable<BetterAuthOptions["databaseHooks"]>
type Validate = NonNullable<NonNullable<BetterAuthOptions["user"]>["validateUserInfo"]>

/** The addresses of the users each request has created: they are new, whatever they were created as. */
const created = new WeakMap<object, Set<string>>()

const refuse = async (userId: string, context: unknown) => {
  const locked = await lockedOutBehind(context as LockOutContext, { userId })
  if (locked !== undefined) throw lockedOutError(locked.reason) // "This account is deactivated." / "… banned."
}

export const databaseHooks = {
  user: {
    create: {
      before: async (user, context) => {
        if (context == null || typeof user.email !== "string") return
        let emails = created.get(context)
        if (emails === undefined) created.set(context, (emails = new Set()))
        emails.add(user.email.toLowerCase())
      }
    }
  },
  session: {
    create: { before: async (session, context) => (context == null ? undefined : refuse(session.userId, context)) },
    update: { before: keepLockedOutSession } // a refresh of a locked-out user's session keeps it as it was
  },
  account: {
    create: {
      before: async (account, context) => {
        if (context == null) return
        const actor = context.context.session?.user.id
        if (actor !== undefined && actor !== account.userId) return
        const user = await context.context.internalAdapter.findUserById(account.userId)
        if (user === null || created.get(context)?.has(String(user.email).toLowerCase()) === true) return
        await refuse(account.userId, context)
      }
    }
  }
} satisfies Hooks

/** Gates already composed: an options object seen twice (two instances) is composed once. */
const gates = new WeakSet<Validate>()

/** The app's own `validateUserInfo`, with a locked-out user refused before it; changed in place, at `init`. */
export const gateUserInfo = (options: { user?: { validateUserInfo?: Validate | undefined } | undefined }): void => {
  const app = options.user?.validateUserInfo
  if (app === undefined || gates.has(app)) return
  const gate: Validate = async (data, context) => {
    const ctx = context as unknown as LockOutContext
    const locked = typeof data.user.id === "string" && isFusionAuthHere(ctx) ? await lockedOutBehind(ctx, { userId: data.user.id }) : undefined
    if (locked === undefined) return app(data, context)
    const { code, message } = lockOutCode(locked.reason)
    return { error: code, errorDescription: message }
  }
  gates.add(gate)
  options.user!.validateUserInfo = gate
}
