/**
 * Better Auth plugins that hand an existing session to a browser, on real Better Auth over
 * PGlite and Postgres: a one-time token (`oneTimeToken()`, minted while the user could act,
 * verified after) and multi-session's switch between a device's accounts. For a locked-out
 * user either is refused as sign-in is (403 `USER_DEACTIVATED` / `USER_BANNED`), with no cookie
 * on the response; once the lock-out ends, the same flows hand the session over again.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, multiSession, oneTimeToken } from "better-auth/plugins"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"
import { testPassword } from "./support/password.ts"

const BASE = "http://localhost:3000"
const PASSWORD = "correct horse battery"
let emails = 0

for (const backend of sqlBackends) {
  describe(`plugins that hand a session to the browser, on ${backend.name}`, () => {
    let db: TestDatabase
    let world: Awaited<ReturnType<typeof makeWorld>>
    beforeAll(async () => {
      db = await backend.make()
      world = await makeWorld(db.url)
    })
    afterAll(async () => {
      await world?.close()
      await db?.close()
    })

    it("a one-time token minted before the lock-out is refused after it, with no cookie; after reactivation the next one is honoured", async () => {
      const { userId, jar } = await world.signUp()
      const mint = async () => ((await world.call("/one-time-token/generate", jar)).body as { token: string }).token
      const [first, second] = [await mint(), await mint()]
      await world.app.users.deactivate(userId)
      const refused = await world.call("/one-time-token/verify", "", { token: first })
      assert.deepInclude(refused, { status: 403, code: "USER_DEACTIVATED", cookies: [] })
      await world.app.users.reactivate(userId)
      const honoured = await world.call("/one-time-token/verify", "", { token: second })
      assert.strictEqual(honoured.status, 200)
      assert.strictEqual((honoured.body as { user: { id: string } }).user.id, userId)
      assert.isNotEmpty(honoured.cookies, "the session cookie")
    })

    it("multi-session: switching a device to a locked-out account is refused, with no cookie; after the ban ends, allowed", async () => {
      // One browser, two accounts: Ada's session, then Bo's (active), both in its jar.
      const ada = await world.signUp()
      const bo = await world.signIn(await world.signUp(), ada.jar)
      const adaToken = ada.jar.match(/session_token=([^.;]+)/)![1]!
      await world.pool.query(`update "user" set "banned" = true where "id" = $1`, [ada.userId])
      const refused = await world.call("/multi-session/set-active", bo.jar, { sessionToken: adaToken })
      assert.deepInclude(refused, { status: 403, code: "USER_BANNED", cookies: [] })
      const still = await world.app.getSession(new Headers({ cookie: bo.jar }))
      assert.strictEqual(still?.user.id, bo.userId, "the browser's active account is still Bo's")
      await world.pool.query(`update "user" set "banned" = false where "id" = $1`, [ada.userId])
      const allowed = await world.call("/multi-session/set-active", bo.jar, { sessionToken: adaToken })
      assert.strictEqual(allowed.status, 200)
      assert.isNotEmpty(allowed.cookies)
    })
  })
}

/** Better Auth with `admin()` (for its ban), `oneTimeToken()` and `multiSession()`, fusion-auth over it; browsers' jars as `Cookie` headers. */
const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  const auth = betterAuth({
    database: pool,
    secret: "handout-secret-handout-secret-handout-0123",
    baseURL: BASE,
    telemetry: { enabled: false },
    logger: { disabled: true },
    rateLimit: { enabled: false },
    emailAndPassword: { enabled: true, password: testPassword },
    plugins: [admin(), oneTimeToken(), multiSession(), fusionAuth()] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  /** Better Auth's endpoint `path` with the browser's `jar` (a POST when there is a body): status, code, body, cookies set. */
  const call = async (path: string, jar: string, body?: unknown) => {
    const response = await auth.handler(new Request(`${BASE}/api/auth${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { origin: BASE, "content-type": "application/json", ...(jar === "" ? {} : { cookie: jar }) },
      body: body === undefined ? null : JSON.stringify(body)
    }))
    const answer = (await response.json()) as { code?: string } | null
    return { status: response.status, code: answer?.code, body: answer, cookies: response.headers.getSetCookie() }
  }
  /** The jar after `response`'s cookies: the last value set for each name, cleared ones gone. */
  const merge = (jar: string, setCookies: ReadonlyArray<string>) => {
    const cookies = new Map(jar === "" ? [] : jar.split("; ").map((c) => c.split(/=(.*)/s) as [string, string]))
    for (const set of setCookies) {
      const [name, value] = set.split(";")[0]!.split(/=(.*)/s) as [string, string]
      if (value === "") cookies.delete(name)
      else cookies.set(name, value)
    }
    return [...cookies].map(([name, value]) => `${name}=${value}`).join("; ")
  }
  const signUp = async () => {
    const email = `handout${++emails}@example.com`
    const response = await call("/sign-up/email", "", { email, password: PASSWORD, name: "Handout" })
    if (response.status !== 200) throw new Error(`sign-up: ${response.status}`)
    return { email, userId: (response.body as { user: { id: string } }).user.id, jar: merge("", response.cookies) }
  }
  /** Signs `account` in within the browser holding `jar`. */
  const signIn = async (account: { email: string; userId: string }, jar: string) => {
    const response = await call("/sign-in/email", jar, { email: account.email, password: PASSWORD })
    if (response.status !== 200) throw new Error(`sign-in: ${response.status}`)
    return { userId: account.userId, jar: merge(jar, response.cookies) }
  }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, call, signUp, signIn, close }
}
