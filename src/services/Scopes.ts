/**
 * `requireScope` for Effect programs: the same check for a cookie and a token session, on
 * the `scopes` the choke point resolved (no further I/O).
 */
import { Effect } from "effect"
import { CurrentSession } from "./CurrentSession.ts"
import { InsufficientScope } from "../core/Errors.ts"
import type { Session } from "../core/Session.ts"

/** Fails with `InsufficientScope` unless the current caller holds `scope`. */
export const requireScope = (scope: string): Effect.Effect<Session, InsufficientScope, CurrentSession> =>
  CurrentSession.use((session) => check(session, scope))

/** The check itself, for a session already in hand. */
export const check = (session: Session, scope: string): Effect.Effect<Session, InsufficientScope> =>
  session.scopes.includes(scope)
    ? Effect.succeed(session)
    : Effect.fail(new InsufficientScope({ scope, credential: session.session === null ? "token" : "cookie" }))
