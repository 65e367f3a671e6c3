/**
 * Better Auth's passkey plugin (`@better-auth/passkey`, the plugin whose id is `passkey`).
 *
 * With a session, a passkey is registered for the session's user: a locked-out user's session
 * is refused at the door (`LockOutGuard.ts`), and the plugin refuses any other user. Without
 * one (`registration: { requireSession: false, resolveUser }`, a passkey-first app), the
 * plugin writes the passkey for the user the app's `resolveUser` gives, or the one its
 * `registration.afterVerification` names. While that user is locked out it is refused (403
 * `USER_DEACTIVATED` / `USER_BANNED`, as fusion-auth refuses a sign-in): the resolved user at
 * the registration's options, before any challenge is written or the browser makes a
 * credential, and again at its verification (locked out in between), before the app's
 * `afterVerification`; a user that step names, once it has named them. Nothing is written
 * for them. Both through those two options, composed with the app's at `init` (the plugin
 * reads the app's `registration` object itself). One primary-key read for each user so
 * judged, in requests without a session only.
 */
import { composeOnce } from "./Composed.ts"
import { isFusionAuthHere, type LockOutContext, pluginOf, type WithPlugins } from "./LockOutReads.ts"
import { refuse } from "./NothingNew.ts"

type Step = (input: { readonly ctx: unknown; readonly user?: { readonly id: string } }) => unknown

interface Registration {
  resolveUser?: Step | undefined
  afterVerification?: Step | undefined
}

/** Refused when `userId` is a locked-out user's, in a request without a session (one with a session was judged at the door). */
const refuseLockedOut = async (ctx: LockOutContext, userId: unknown) => {
  if (typeof userId !== "string" || userId === "" || ctx.context.session?.user != null || !isFusionAuthHere(ctx)) return
  await refuse(userId, ctx)
}

/**
 * `registration[step]` in place: the user it is given (`before`) refused before the app's own
 * step runs, then the user the app's answer names (`after`); with no step of the app's, only the first.
 */
const compose = (
  registration: Registration,
  step: keyof Registration,
  judge: { readonly before?: (input: Parameters<Step>[0]) => unknown; readonly after: (answer: unknown, input: Parameters<Step>[0]) => unknown }
) =>
  composeOnce(registration, step, (app) =>
    app === undefined && judge.before === undefined ? undefined : async (input: Parameters<Step>[0]) => {
      const ctx = input.ctx as LockOutContext
      if (judge.before !== undefined) await refuseLockedOut(ctx, judge.before(input))
      if (app === undefined) return undefined
      const answer = await app(input)
      await refuseLockedOut(ctx, judge.after(answer, input))
      return answer
    })

/** The passkey plugin's `registration.resolveUser` and `afterVerification`, each refusing a locked-out user; at `init`. */
export const guardPasskeyRegistration = (options: WithPlugins): void => {
  const registration = (pluginOf(options, "passkey")?.options as { registration?: Registration } | undefined)?.registration
  // Without `registration`, every registration needs a session: refused at the door.
  if (registration === undefined) return
  compose(registration, "resolveUser", { after: (user) => (user as { id?: unknown } | null | undefined)?.id })
  // At the verification: the resolved user again (locked out since the options?), then any other the app names.
  compose(registration, "afterVerification", {
    before: (input) => input.user?.id,
    after: (answer, input) => {
      const named = (answer as { userId?: unknown } | null | undefined)?.userId
      return named === input.user?.id ? undefined : named
    }
  })
}
