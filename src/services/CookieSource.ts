/**
 * The cookie path: Better Auth's own `auth.api.getSession`, and whether its answer may be
 * stale (cookie cache or secondary storage on), in which case the resolver asks the
 * database afresh about the user.
 */
import { Context, Effect, Layer, Option } from "effect"
import { PLUGIN_ID } from "../core/Session.ts"
import type { SessionRow, User } from "../core/Session.ts"

/** The part of a Better Auth instance fusion-auth uses. `typeof auth` satisfies it. */
export interface BetterAuthLike {
  readonly api: {
    getSession(context: {
      headers: Headers
      query?: { disableCookieCache?: boolean }
    }): Promise<{ user: object; session: object } | null>
  }
  readonly options: {
    readonly session?: { readonly cookieCache?: { readonly enabled?: boolean | undefined } | undefined } | undefined
    readonly secondaryStorage?: unknown
    readonly database?: unknown
    readonly plugins?: ReadonlyArray<{ readonly id: string }> | undefined
  }
}

export class CookieSource extends Context.Service<CookieSource, {
  /** Better Auth's session for these headers; `None` when there is none. Throwing is a defect. */
  get(headers: Headers): Effect.Effect<Option.Option<{ readonly user: User; readonly session: SessionRow }>>
  /** True when `get` may answer from a cache and so cannot be trusted about deactivation. */
  readonly mayBeStale: boolean
}>()("fusion-auth/CookieSource") {
  static readonly layer = (auth: BetterAuthLike): Layer.Layer<CookieSource> =>
    Layer.sync(CookieSource, () => {
      assertPlugin(auth)
      const cookieCache = auth.options.session?.cookieCache?.enabled === true
      return CookieSource.of({
        get: (headers) => {
          const read = (disableCookieCache: boolean) =>
            Effect.tryPromise({
              try: () => auth.api.getSession(disableCookieCache ? { headers, query: { disableCookieCache } } : { headers }),
              catch: (cause) => new BetterAuthFailure({ cause })
            })
          return read(false).pipe(
            // Better Auth throws on a cookie-cache cookie it cannot decode (forged, truncated). The cache is only a
            // cache: ask once more without it, and let the session table decide. A second failure is a failure.
            Effect.catch((failure) =>
              cookieCache && /session_data/.test(headers.get("cookie") ?? "") ? read(true) : Effect.fail(failure)
            ),
            Effect.map((found) => Option.fromNullishOr(found as { user: User; session: SessionRow } | null)),
            Effect.orDie,
            Effect.withSpan("CookieSource.get")
          )
        },
        mayBeStale: cookieCache || auth.options.secondaryStorage != null
      })
    })
}

/** Better Auth threw: an infrastructure failure, surfaced as a defect that fails the request. */
export class BetterAuthFailure extends Error {
  override readonly name = "BetterAuthFailure"
  constructor(options: { readonly cause: unknown }) {
    super("Better Auth failed while reading the session", options)
  }
}

export const assertPlugin = (auth: BetterAuthLike) => {
  if (!auth.options.plugins?.some((plugin) => plugin.id === PLUGIN_ID)) {
    throw new Error(
      `fusion-auth: add fusionAuth() to the plugins of betterAuth({...}); without it Better Auth does not read "deactivatedAt" and deactivated users would keep their cookies`
    )
  }
}
