/**
 * A signed-up user with a browser cookie and an API token, in one call, for an app's tests:
 * real Better Auth (`auth.api.signUpEmail`, email and password enabled) and the app's own
 * `createAuthSession` runtime, so both credentials resolve as they do in production.
 */
import { Redacted } from "effect"
import type { CreatedToken } from "../services/TokenStore.ts"

/** What the fixture needs of a Better Auth instance with email and password on. */
export interface SignUpAuth {
  readonly api: {
    signUpEmail(context: {
      readonly body: { readonly email: string; readonly password: string; readonly name: string }
      readonly returnHeaders: true
    }): Promise<{ readonly headers: Headers; readonly response: { readonly user: { readonly id: string } } }>
  }
}

/** What the fixture needs of `createAuthSession(auth)`. */
export interface TokenMaker {
  readonly tokens: {
    create(input: { readonly userId: string; readonly name: string; readonly scopes?: ReadonlyArray<string> }): Promise<CreatedToken>
  }
}

export interface FixtureOptions {
  /** Default: a fresh `user-<random>@example.com`. */
  readonly email?: string | undefined
  readonly name?: string | undefined
  readonly password?: string | undefined
  /** The token's scopes; default none. */
  readonly scopes?: ReadonlyArray<string> | undefined
}

export interface Fixture {
  readonly userId: string
  readonly email: string
  /** The browser's `Cookie` header value, as Better Auth set it at sign-up. */
  readonly cookie: Redacted.Redacted<string>
  /** The token's plaintext, as `tokens.create` gave it. */
  readonly token: Redacted.Redacted<string>
  /** Request headers carrying the cookie, or the token as `Authorization: Bearer …`. */
  readonly headers: { readonly cookie: () => Headers; readonly bearer: () => Headers }
}

/** Signs a user up through Better Auth and gives them a token; returns both credentials. */
export const signUpFixture = async (auth: SignUpAuth, app: TokenMaker, options: FixtureOptions = {}): Promise<Fixture> => {
  const email = options.email ?? `user-${crypto.randomUUID().slice(0, 8)}@example.com`
  const { headers, response } = await auth.api.signUpEmail({
    body: { email, password: options.password ?? "correct horse battery staple", name: options.name ?? email.split("@")[0]! },
    returnHeaders: true
  })
  const cookie = Redacted.make(headers.getSetCookie().map((c) => c.split(";")[0]).join("; "))
  const { token } = await app.tokens.create({ userId: response.user.id, name: "fixture", scopes: options.scopes ?? [] })
  return {
    userId: response.user.id,
    email,
    cookie,
    token,
    headers: {
      cookie: () => new Headers({ cookie: Redacted.value(cookie) }),
      bearer: () => new Headers({ authorization: `Bearer ${Redacted.value(token)}` })
    }
  }
}
