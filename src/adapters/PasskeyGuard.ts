/**
 * Better Auth's passkey plugin (`@better-auth/passkey`, the plugin whose id is `passkey`).
 *
 * With a session, a passkey is registered for the session's user: a locked-out user's session
 * is refused at the door (`LockOutGuard.ts`). Without one (`registration: { requireSession:
 * false, resolveUser }`, a passkey-first app), the plugin writes the passkey for the user the
 * app resolved, or the one its `registration.afterVerification` names: while that user is
 * locked out, it is refused (403 `USER_DEACTIVATED` / `USER_BANNED`, as sign-in is) before the
 * passkey is written and before the app's own `afterVerification` runs, through that option,
 * composed with the app's at `init` (the plugin reads the app's `registration` object itself).
 * One primary-key read per registration without a session (two when the app names another user).
 */
import { lockedOutError } from "./LockOutGuard.ts"
import { isFusionAuthHere, lockedOutBehind, type LockOutContext } from "./LockOutReads.ts"

type AfterVerification = (input: { readonly ctx: unknown; readonly user: { readonly id: string } }) => unknown

interface PasskeyOptions {
  readonly registration?: { afterVerification?: AfterVerification | undefined } | undefined
}

/** The gates composed so far: a `registration` object seen twice (two instances) is composed once. */
const gates = new WeakSet<AfterVerification>()

const refuseLockedOut = async (ctx: LockOutContext, userId: unknown) => {
  if (typeof userId !== "string" || userId === "" || !isFusionAuthHere(ctx)) return
  // The session's own user was judged at the door (`LockOutGuard.ts`).
  if (ctx.context.session?.user?.id === userId) return
  const locked = await lockedOutBehind(ctx, { userId })
  if (locked !== undefined) throw lockedOutError(locked.reason)
}

/** The passkey plugin's `registration.afterVerification`, with a locked-out user refused around the app's own; changed in place, at `init`. */
export const guardPasskeyRegistration = (options: { readonly plugins?: ReadonlyArray<{ readonly id: string; readonly options?: unknown }> | undefined }): void => {
  const registration = (options.plugins?.find((plugin) => plugin.id === "passkey")?.options as PasskeyOptions | undefined)?.registration
  // Without `registration`, every registration needs a session: refused at the door.
  if (registration === undefined) return
  const app = registration.afterVerification
  if (app !== undefined && gates.has(app)) return
  const gate: AfterVerification = async (input) => {
    const ctx = input.ctx as LockOutContext
    await refuseLockedOut(ctx, input.user.id)
    if (app === undefined) return undefined
    const result = (await app(input)) as { readonly userId?: unknown } | null | undefined
    // The app may name another user for the passkey.
    if (result?.userId !== input.user.id) await refuseLockedOut(ctx, result?.userId)
    return result
  }
  gates.add(gate)
  registration.afterVerification = gate
}
