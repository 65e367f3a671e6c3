/**
 * Real Better Auth on a test database: email and password, the fusion-auth plugin, and the
 * cookie cache on or off. `signUp` goes through `auth.handler` like a browser would.
 */
import { type BetterAuthPlugin, betterAuth, type SecondaryStorage } from "better-auth"
import { genericOAuth } from "better-auth/plugins"
import { betterAuthDatabase, type DatabaseOptions, fusionAuth, migrate } from "../../src/index.ts"
import { testPool } from "./databases.ts"
import { testPassword } from "./password.ts"

/** The secret the tests' Better Auth signs its cookies with. */
export const SECRET = "test-secret-test-secret-test-secret-0123"

export const makeAuth = (
  url: string,
  options: {
    readonly cookieCache?: boolean
    readonly secondaryStorage?: SecondaryStorage | undefined
    /** Better Auth plugins before fusion-auth's own (the admin plugin, …), reached through `auth.handler`. */
    readonly plugins?: ReadonlyArray<BetterAuthPlugin>
  } = {}
) => {
  const pool = testPool(url)
  const auth = betterAuth({
    database: pool,
    secret: SECRET,
    baseURL: "http://localhost:3000",
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true, password: testPassword },
    session: { cookieCache: { enabled: options.cookieCache ?? false, maxAge: 300 } },
    ...(options.secondaryStorage === undefined ? {} : { secondaryStorage: options.secondaryStorage }),
    // Typed as fusion-auth's alone: one `TestAuth` for every suite.
    plugins: [...(options.plugins ?? []), fusionAuth()] as unknown as [ReturnType<typeof fusionAuth>]
  })
  return { auth, pool }
}

export type TestAuth = ReturnType<typeof makeAuth>["auth"]

/**
 * The options a suite's own Better Auth on `database` starts from, as an app at
 * http://localhost:3000 sets them: email and password, no telemetry, no log lines, and no rate
 * limit of Better Auth's own (suites call its endpoints faster than a person).
 */
export const quietOptions = <D>(database: D) => ({
  database,
  secret: SECRET,
  baseURL: "http://localhost:3000",
  telemetry: { enabled: false },
  logger: { disabled: true },
  rateLimit: { enabled: false },
  emailAndPassword: { enabled: true, password: testPassword }
})

/** Real Better Auth on fusion-auth's database options (`betterAuthDatabase`: a URL, or the embedded folder), as an app configures it. */
export const authOn = (database: DatabaseOptions) =>
  betterAuth({
    database: betterAuthDatabase(database),
    secret: SECRET,
    baseURL: "http://localhost:3000",
    telemetry: { enabled: false },
    logger: { disabled: true },
    emailAndPassword: { enabled: true, password: testPassword },
    plugins: [fusionAuth()]
  })

/**
 * A browser's request to Better Auth's endpoint `path` at http://localhost:3000: the `Cookie`
 * header of its `jar`, the `Origin` Better Auth's CSRF check wants, and a JSON `body` (a POST)
 * or none (a GET).
 */
export const authRequest = (path: string, jar = "", body?: unknown, headers: Record<string, string> = {}): Request =>
  new Request(`http://localhost:3000/api/auth${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { origin: "http://localhost:3000", "content-type": "application/json", ...(jar === "" ? {} : { cookie: jar }), ...headers },
    body: body === undefined ? null : JSON.stringify(body)
  })

/**
 * A browser's calls to `auth.handler` (`authRequest`): each answer's status, JSON body (`null`
 * when empty), `Location`, `Set-Cookie` lines, and the browser's jar after them.
 */
export const browserOf = (auth: { handler(request: Request): Promise<Response> }) =>
  async (path: string, jar: string, body?: unknown) => {
    const response = await auth.handler(authRequest(path, jar, body))
    const text = await response.text()
    const cookies = response.headers.getSetCookie()
    return { status: response.status, body: text === "" ? null : (JSON.parse(text) as unknown), location: response.headers.get("location"), cookies, jar: jarAfter(jar, cookies) }
  }

/** What an OAuth provider says of the user signing in. */
export interface Profile {
  readonly id: string
  readonly email: string
  readonly name: string
  readonly emailVerified: boolean
}

/**
 * Better Auth's `genericOAuth()` with one provider, `mock`, at https://idp.example: its token is
 * `token`, its profile whatever `profile()` says when the callback asks (none: `null`). No network.
 */
export const mockOAuthProvider = (
  profile: () => Profile | undefined,
  options: { readonly token?: { readonly accessToken: string; readonly refreshToken?: string }; readonly overrideUserInfo?: boolean } = {}
) =>
  genericOAuth({
    config: [{
      providerId: "mock",
      clientId: "client",
      clientSecret: "secret",
      authorizationUrl: "https://idp.example/authorize",
      tokenUrl: "https://idp.example/token",
      ...(options.overrideUserInfo === undefined ? {} : { overrideUserInfo: options.overrideUserInfo }),
      getToken: async () => ({ ...(options.token ?? { accessToken: "access" }), tokenType: "Bearer" }),
      getUserInfo: async () => {
        const said = profile()
        return said === undefined ? null : { ...said }
      }
    }]
  })

/**
 * A browser's GET of an absolute `link` (a mailed link, a provider's redirect back) on `auth`,
 * holding `jar`: the status, the body (JSON parsed, else the text, `null` when empty), the text,
 * `Location`, `Set-Cookie` lines, and the jar after.
 */
export const visitOf = (auth: { handler(request: Request): Promise<Response> }) =>
  async (link: string, jar = "") => {
    const response = await auth.handler(new Request(link, { headers: jar === "" ? {} : { cookie: jar } }))
    const text = await response.text()
    const cookies = response.headers.getSetCookie()
    let body: unknown = null
    try {
      if (text !== "") body = JSON.parse(text)
    } catch {
      body = text // an HTML or text answer, kept as it is
    }
    return { status: response.status, body, text, location: response.headers.get("location"), cookies, jar: jarAfter(jar, cookies) }
  }

/** Signs up through `call` (a `browserOf`): the address, the user's id, and the browser's jar. */
export const signUpAs = async (call: ReturnType<typeof browserOf>, email: string) => {
  const answer = await call("/sign-up/email", "", { email, password: "correct horse battery", name: "Ada" })
  if (answer.status !== 200) throw new Error(`sign-up failed: ${answer.status} ${JSON.stringify(answer.body)}`)
  return { email, userId: (answer.body as { user: { id: string } }).user.id, jar: answer.jar }
}

/** The line Better Auth clears an OAuth flow's state cookie with when the flow returns, refused or not: it hands nothing over. */
export const STATE_CLEARED = "better-auth.state=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"

/** Whether a response's `Set-Cookie` lines give the browser a session (Better Auth's session cookie, set to a value). */
export const opensSession = (cookies: ReadonlyArray<string>) => cookies.some((c) => /^better-auth\.session_token=[^;]/.test(c))

/** What a suite locks a user out with: its runtime's `users`, and a `pg` pool on its database. */
interface Lockable {
  readonly app: { readonly users: { deactivate(id: string): Promise<unknown>; reactivate(id: string): Promise<unknown> } }
  readonly pool: { query(text: string, values: ReadonlyArray<unknown>): Promise<unknown> }
}

/** Two ways a user is locked out, and out of it, with the code fusion-auth refuses them with: deactivation, and the admin plugin's ban written to the row. */
export const lockOutWays = {
  deactivated: {
    code: "USER_DEACTIVATED",
    lock: (w: Lockable, id: string) => w.app.users.deactivate(id),
    unlock: (w: Lockable, id: string) => w.app.users.reactivate(id)
  },
  "banned (the row written)": {
    code: "USER_BANNED",
    lock: (w: Lockable, id: string) => w.pool.query(`update "user" set "banned" = true where "id" = $1`, [id]),
    unlock: (w: Lockable, id: string) => w.pool.query(`update "user" set "banned" = false where "id" = $1`, [id])
  }
} as const

/** Signs up through the HTTP handler; returns the user id and the browser's `Cookie` header. */
export const signUp = async (auth: { handler(request: Request): Promise<Response> }, email: string, baseURL = "http://localhost:3000") => {
  const response = await auth.handler(
    new Request(`${baseURL}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: baseURL },
      body: JSON.stringify({ email, password: "correct horse battery", name: email.split("@")[0] })
    })
  )
  if (response.status !== 200) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { user: { id: string } }
  const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
  return { userId: body.user.id, cookie }
}

/**
 * The admin plugin's `/admin/impersonate-user`, called with the admin's `Cookie` header through
 * `auth.handler`: the `Cookie` header of the cookies the answer sets (cleared ones gone).
 */
export const impersonate = async (
  auth: { handler(request: Request): Promise<Response> },
  adminCookie: string,
  userId: string,
  baseURL = "http://localhost:3000"
) => {
  const response = await auth.handler(new Request(`${baseURL}/api/auth/admin/impersonate-user`, {
    method: "POST",
    headers: { origin: baseURL, "content-type": "application/json", cookie: adminCookie },
    body: JSON.stringify({ userId })
  }))
  if (response.status !== 200) throw new Error(`impersonation failed: ${response.status} ${await response.text()}`)
  return jarAfter("", response.headers.getSetCookie())
}

/** A browser's `Cookie` header after a response's `Set-Cookie` lines: the last value set for each name, cleared ones gone. */
export const jarAfter = (jar: string, setCookies: ReadonlyArray<string>): string => {
  const cookies = new Map(jar === "" ? [] : jar.split("; ").map((c) => c.split(/=(.*)/s) as [string, string]))
  for (const set of setCookies) {
    const [name, value] = set.split(";")[0]!.split(/=(.*)/s) as [string, string]
    if (value === "") cookies.delete(name)
    else cookies.set(name, value)
  }
  return [...cookies].map(([name, value]) => `${name}=${value}`).join("; ")
}

/** Signs in through `auth.api` (a second, independent session for the same user). */
export const signIn = async (auth: TestAuth, email: string) => {
  const { headers } = await auth.api.signInEmail({
    body: { email, password: "correct horse battery" },
    returnHeaders: true
  })
  return headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
}

export { migrate }
