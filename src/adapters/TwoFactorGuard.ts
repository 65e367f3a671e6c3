/**
 * Better Auth's two-factor plugin (`twoFactor()`, the plugin whose id is `two-factor`). A
 * sign-in that stops at the second factor leaves the browser a signed cookie naming its
 * challenge (a verification value whose value is the user's id). The plugin spends the
 * challenge, the mailed one-time code and the backup code before it opens the session that
 * fusion-auth refuses a locked-out user (`NothingNew.ts`), so a refusal there would cost the
 * user a backup code and the challenge for good. Instead, while the challenge's user is locked
 * out, each step that finishes it or mails its code is refused before it runs, as sign-in is
 * (403 `USER_DEACTIVATED` / `USER_BANNED`), and once the lock-out ends the same challenge
 * completes with the same code while it lasts. One read of the challenge (Better Auth 1.7.0
 * also clears expired values as it reads) and one of its user by primary key, in those
 * requests when no session Better Auth would honour acts (with one, the plugin acts for the
 * session's user, judged at the door).
 */
import { lockedOutBehind, lockedOutError, type LockOutContext, pluginOf, unexpired } from "./LockOutReads.ts"

/** The plugin's steps that finish a challenge, or mail its one-time code. */
const FINISHING = /^\/two-factor\/(?:verify-(?:totp|otp|backup-code)|send-otp)$/

type ChallengeContext = LockOutContext & {
  readonly context: {
    createAuthCookie(name: string): { readonly name: string }
    readonly internalAdapter: { findVerificationValue(identifier: string): Promise<{ readonly value: string; readonly expiresAt: Date } | null> }
  }
}

/** Refused (403) when the request finishes a challenge, or asks for its code, for a user locked out now; nothing read elsewhere. */
export const refusePendingChallenge = async (raw: LockOutContext): Promise<void> => {
  if (!FINISHING.test(raw.path ?? "") || pluginOf(raw.context.options, "two-factor") === undefined) return
  const ctx = raw as ChallengeContext
  // The plugin's own cookie name (`two_factor`), under the app's prefix, as the plugin reads it.
  const challengeId = await ctx.getSignedCookie(ctx.context.createAuthCookie("two_factor").name, ctx.context.secret)
  if (typeof challengeId !== "string" || challengeId === "") return
  const challenge = await ctx.context.internalAdapter.findVerificationValue(challengeId)
  // An expired or unknown challenge gets the plugin's own answer.
  if (challenge === null || !unexpired(challenge.expiresAt)) return
  const locked = await lockedOutBehind(ctx, { userId: challenge.value })
  if (locked !== undefined) throw lockedOutError(locked.reason)
}
