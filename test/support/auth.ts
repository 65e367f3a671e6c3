/**
 * Real Better Auth on a test database: email and password, the fusion-auth plugin, and the
 * cookie cache on or off. `signUp` goes through `auth.handler` like a browser would.
 */
import { betterAuth, type SecondaryStorage } from "better-auth"
import pg from "pg"
import { betterAuthDatabase, type DatabaseOptions, fusionAuth, migrate } from "../../src/index.ts"
import { testPassword } from "./password.ts"

/** The secret the tests' Better Auth signs its cookies with. */
export const SECRET = "test-secret-test-secret-test-secret-0123"

export const makeAuth = (
  url: string,
  options: { readonly cookieCache?: boolean; readonly secondaryStorage?: SecondaryStorage | undefined } = {}
) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on("error", () => undefined) // an idle connection dropped by the server: the next query reconnects
  pool.on("connect", (client) => client.on("error", () => undefined)) // and one dropped while checked out
  const auth = betterAuth({
    database: pool,
    secret: SECRET,
    baseURL: "http://localhost:3000",
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true, password: testPassword },
    session: { cookieCache: { enabled: options.cookieCache ?? false, maxAge: 300 } },
    ...(options.secondaryStorage === undefined ? {} : { secondaryStorage: options.secondaryStorage }),
    plugins: [fusionAuth()]
  })
  return { auth, pool }
}

export type TestAuth = ReturnType<typeof makeAuth>["auth"]

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

/** Signs up through the HTTP handler; returns the user id and the browser's `Cookie` header. */
export const signUp = async (auth: TestAuth, email: string, baseURL = "http://localhost:3000") => {
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

/** Signs in through `auth.api` (a second, independent session for the same user). */
export const signIn = async (auth: TestAuth, email: string) => {
  const { headers } = await auth.api.signInEmail({
    body: { email, password: "correct horse battery" },
    returnHeaders: true
  })
  return headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
}

export { migrate }
