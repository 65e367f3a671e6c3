/**
 * Nothing new for a locked-out user (`core/LockOut.ts`): Better Auth opens no session for them
 * (sign-in, sign-up, a verified link's sign-in), links no account to them (an OAuth sign-in or
 * link, SIWE), and writes nothing an identity provider says of them: an OAuth or SSO sign-in's
 * profile and address go through Better Auth's own gate on provider data
 * (`user.validateUserInfo`) before anything is written, and a locked-out user is refused there.
 * Sign-in's refusal is 403 `USER_DEACTIVATED` / `USER_BANNED`, as Better Auth refuses a banned
 * sign-in; a browser's OAuth flow is redirected to its error URL with that code.
 *
 * Someone else, already checked at the door (an admin through the admin plugin), may still link
 * an account to a locked-out user: `/admin/set-user-password` makes a password account.
 */
import type { BetterAuthOptions } from "better-auth"
import { ERROR_CODES } from "../core/ErrorCodes.ts"
import { lockOut, lockOutFields, type LockOutReason } from "../core/LockOut.ts"
import { keepLockedOutSession, lockedOutError } from "./LockOutGuard.ts"

type Hooks = NonNullable<BetterAuthOptions["databaseHooks"]>
type Context = Parameters<NonNullable<NonNullable<NonNullable<Hooks["session"]>["create"]>["before"]>>[1]
type Validate = NonNullable<NonNullable<BetterAuthOptions["user"]>["validateUserInfo"]>

/** Why `userId` is locked out now, read by primary key; `undefined` when not (or no such user). */
const lockedOut = async (userId: string, context: Context): Promise<LockOutReason | undefined> => {
  const user = await context?.context.internalAdapter.findUserById(userId)
  return user == null ? undefined : lockOut(lockOutFields(user), Date.now())
}

const refuse = async (userId: string, context: Context) => {
  const reason = await lockedOut(userId, context)
  if (reason !== undefined) throw lockedOutError(reason) // "This account is deactivated." / "… banned."
}

export const databaseHooks = {
  session: {
    create: { before: async (session, context) => refuse(session.userId, context) },
    update: { before: keepLockedOutSession } // a refresh of a locked-out user's session keeps it as it was
  },
  account: {
    create: {
      before: async (account, context) => {
        const actor = context?.context.session?.user.id
        if (actor === undefined || actor === account.userId) await refuse(account.userId, context)
      }
    }
  }
} satisfies Hooks

/** Gates already composed: an options object seen twice (two instances) is composed once. */
const gates = new WeakSet<Validate>()

/**
 * The gate on provider data: a locked-out user's sign-in or link is refused before Better Auth
 * writes what the provider says, then the app's own `validateUserInfo` runs. Better Auth keeps an
 * app's own option over a plugin's, so where the app has one it is replaced in place (at `init`).
 */
export const validateUserInfo = (options: { user?: { validateUserInfo?: Validate | undefined } | undefined }): Validate => {
  const app = options.user?.validateUserInfo
  if (app !== undefined && gates.has(app)) return app
  const gate: Validate = async (data, context) => {
    const reason = typeof data.user.id === "string" ? await lockedOut(data.user.id, context) : undefined
    if (reason === undefined) return app?.(data, context)
    const { code, message } = reason === "banned" ? ERROR_CODES.USER_BANNED : ERROR_CODES.USER_DEACTIVATED
    return { error: code, errorDescription: message }
  }
  gates.add(gate)
  if (app !== undefined) options.user!.validateUserInfo = gate
  return gate
}
