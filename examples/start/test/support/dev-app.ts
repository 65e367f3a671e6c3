/**
 * The example on the Vite dev server (a fresh data folder, the embedded database), with
 * fusion-auth in the test's own process on that same database, reached through the server
 * the app names in the folder's lock file. Users sign up over HTTP; their tokens are made and
 * revoked, and users deactivated, with the library: that is how a token gets a short expiry.
 */
import { betterAuth } from "better-auth"
import { Redacted } from "effect"
import pg from "pg"
import { createAuthSession, fusionAuth } from "fusion-auth"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { tokenPolicy } from "#/lib/tokenPolicy"
import { type RunningApp, startDev } from "./app.ts"

const PASSWORD = "correct horse battery staple"

export interface Account {
  readonly id: string
  readonly email: string
  readonly cookie: string
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/**
 * fusion-auth as a script uses it, on the database the running app owns: through the server
 * the app names in the folder's lock file (so even with DATABASE_URL set for the other suites).
 */
const createLibrary = (url: string, databaseUrl: string) => {
  return createAuthSession(
    betterAuth({ secret: "dev-app-test-secret-0123456789abcdef", baseURL: url, telemetry: { enabled: false }, plugins: [fusionAuth()] }),
    { database: { url: databaseUrl }, tokens: tokenPolicy }
  )
}

export const startDevWithLibrary = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "fusion-auth-example-dev-"))
  let app: RunningApp | undefined
  let library: ReturnType<typeof createLibrary> | undefined
  let database: pg.Pool | undefined
  const stop = async () => {
    await database?.end()
    await library?.dispose()
    await app?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    app = await startDev({ dataDir, fixedBaseURL: true })
    const url = app.url
    const owner = JSON.parse(readFileSync(join(dataDir, "pglite", "fusion-auth.lock"), "utf8")) as { url: string }
    library = createLibrary(url, owner.url)
    database = new pg.Pool({ connectionString: owner.url, max: 1 })
    database.on("error", () => undefined) // the socket may outlive end() while the app stops (test/support/databases.ts's testPool)
    const pool = database
    /** A statement on the app's database, as an operator's SQL would be. */
    const sql = (text: string, values: ReadonlyArray<unknown> = []) => pool.query(text, [...values])
    const { tokens, users } = library

    /** Signs up over Better Auth's HTTP API: the user's id, email and the browser's cookie. */
    const signUp = async (name: string): Promise<Account> => {
      const email = `${name.toLowerCase()}@example.com`
      const response = await fetch(`${url}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: url },
        body: JSON.stringify({ name, email, password: PASSWORD })
      })
      if (response.status !== 200) throw new Error(`sign-up of ${name}: ${response.status}`)
      const body = (await response.json()) as { user: { id: string } }
      return { id: body.user.id, email, cookie: response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") }
    }

    /** A new token of this user (read scope; the policy's lifetime unless `expiresAt`). */
    const tokenFor = async (userId: string, expiresAt?: Date) => {
      const { token, info } = await tokens.create({ userId, name: "dev-app test", scopes: ["read"], expiresAt })
      return { token: Redacted.value(token), id: info.id }
    }

    /**
     * The id of a server function, as the browser's copy of its route module calls it
     * (`createClientRpc("<id>")`; the id names the function's export).
     */
    const serverFnId = async (modulePath: string, name: string): Promise<string> => {
      const source = await (await fetch(`${url}${modulePath}`)).text()
      const ids = [...source.matchAll(/createClientRpc\("([^"]+)"\)/g)].map((match) => match[1]!)
      const id = ids.find((candidate) => Buffer.from(candidate, "base64url").toString().includes(`"${name}_createServerFn_handler"`))
      if (id === undefined) throw new Error(`no server function ${name} in ${modulePath}`)
      return id
    }

    /** Calls a GET server function over its RPC endpoint, as Start's client does, never following a redirect. */
    const rpc = (id: string, headers: Record<string, string>, page = "/") =>
      fetch(`${url}/_serverFn/${id}`, {
        redirect: "manual",
        headers: { "x-tsr-serverfn": "true", origin: url, referer: `${url}${page}`, ...headers }
      })

    return { app, url, tokens, users, signUp, tokenFor, serverFnId, rpc, sql, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
