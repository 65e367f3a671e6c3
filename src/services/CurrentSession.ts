/**
 * The session of the request being served, for Effect programs: `yield* CurrentSession`.
 *
 * Provided per request by the runtime (`createAuthSession(...).run`) or an HTTP middleware;
 * in tests, by `CurrentSession.layerTest(session)` with no database at all.
 */
import { Context, Layer } from "effect"
import type { AuthError } from "../core/Errors.ts"
import { SessionResolver } from "./SessionResolver.ts"
import type { Session } from "../core/Session.ts"

export class CurrentSession extends Context.Service<CurrentSession, Session>()("fusion-auth/CurrentSession") {
  /** Resolves the given request's headers once; fails with the resolver's error. */
  static readonly layer = (headers: Headers): Layer.Layer<CurrentSession, AuthError, SessionResolver> =>
    Layer.effect(CurrentSession, SessionResolver.use((resolver) => resolver.resolve(headers)))

  /** A fixed session, for testing code that needs a signed-in caller. */
  static readonly layerTest = (session: Session): Layer.Layer<CurrentSession> => Layer.succeed(CurrentSession, session)
}
