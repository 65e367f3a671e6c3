/**
 * Better Auth's SSO plugin (`@better-auth/sso`, OIDC) beside fusion-auth, on real Better Auth
 * over PGlite and Postgres (`betterAuthDatabase()`), with the organization plugin and the
 * SSO plugin's provisioning on. The identity provider is a local HTTP server (token, userinfo,
 * JWKS). A locked-out user's SSO sign-in opens no session and links, provisions and adds
 * nothing; a browser that holds their cookie can still sign in with SSO as someone else. Once
 * the lock-out ends, the same sign-in links and provisions as it would have.
 */
import { assert, it } from "@effect/vitest"
import { sso } from "@better-auth/sso"
import { betterAuth } from "better-auth"
import { admin, organization } from "better-auth/plugins"
import { createServer } from "node:http"
import { betterAuthDatabase, createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, opensSession, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

let people = 0

interface Profile {
  readonly sub: string
  readonly email: string
  readonly name: string
  readonly email_verified: boolean
}

/** The identity provider: its token endpoint answers any code; its userinfo says what the test last told it. */
const startIdp = async () => {
  let says: Profile | undefined
  const server = createServer((request, response) => {
    request.resume()
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname
    response.setHeader("content-type", "application/json")
    if (path === "/token") return void response.end(JSON.stringify({ access_token: "at", token_type: "Bearer", expires_in: 3600 }))
    if (path === "/userinfo") return void response.end(JSON.stringify(says ?? {}))
    if (path === "/jwks") return void response.end(JSON.stringify({ keys: [] }))
    response.statusCode = 404
    response.end("{}")
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    says: (profile: Profile) => void (says = profile),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  const idp = await startIdp()
  const provisioned: Array<string> = []
  const auth = betterAuth({
    ...quietOptions(betterAuthDatabase({ url })),
    trustedOrigins: ["http://localhost:3000", idp.origin],
    plugins: [
      admin(),
      organization(),
      sso({
        trustEmailVerified: true,
        provisionUser: async ({ user }) => void provisioned.push(user.id),
        provisionUserOnEveryLogin: true,
        organizationProvisioning: { defaultRole: "member" }
      }),
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  const signUp = async (domain: string) => {
    const email = `sso${++people}@${domain}`
    const answer = await call("/sign-up/email", "", { email, password: "correct horse battery", name: "Ada" })
    assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
    const userId = (answer.body as { user: { id: string } }).user.id
    await pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [userId])
    return { email, userId, jar: answer.jar }
  }
  // An admin of an organization registers the provider for the organization's domain.
  const owner = await signUp("owner.example")
  const made = await call("/organization/create", owner.jar, { name: "Corp", slug: `corp-${people}` })
  const organizationId = (made.body as { id: string }).id
  const providerId = `corp-${people}`
  const registered = await call("/sso/register", owner.jar, {
    providerId,
    issuer: idp.origin,
    domain: "corp.example",
    organizationId,
    oidcConfig: {
      clientId: "client",
      clientSecret: "secret",
      skipDiscovery: true,
      pkce: false,
      authorizationEndpoint: `${idp.origin}/authorize`,
      tokenEndpoint: `${idp.origin}/token`,
      userInfoEndpoint: `${idp.origin}/userinfo`,
      jwksEndpoint: `${idp.origin}/jwks`
    }
  })
  assert.strictEqual(registered.status, 200, JSON.stringify(registered.body))
  /** The browser of `jar` signs in with SSO; the provider says `profile`. */
  const ssoSignIn = async (profile: Profile, jar = "") => {
    const begun = await call("/sign-in/sso", jar, { providerId, callbackURL: "/done", errorCallbackURL: "/failed" })
    assert.strictEqual(begun.status, 200, JSON.stringify(begun.body))
    const state = new URL((begun.body as { url: string }).url).searchParams.get("state")!
    idp.says(profile)
    return call(`/sso/callback/${providerId}?code=code&state=${encodeURIComponent(state)}`, begun.jar)
  }
  const linked = async (userId: string) => ({
    accounts: (await pool.query(`select "providerId" from "account" where "userId" = $1 order by "providerId"`, [userId])).rows.map((r) => r.providerId as string),
    memberships: (await pool.query(`select 1 from "member" where "userId" = $1`, [userId])).rowCount,
    sessions: (await pool.query(`select 1 from "session" where "userId" = $1`, [userId])).rowCount
  })
  const close = async () => {
    await app.dispose()
    await idp.close()
    await pool.end()
  }
  return { app, pool, call, signUp, ssoSignIn, linked, provisioned, providerId, close }
}

describeOnBackends("Better Auth's SSO plugin for a locked-out user", makeWorld, (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: their SSO sign-in goes to the error URL with ${code}, opens no session, links, provisions and adds nothing; once it ends it does all of it`, async () => {
      const w = held.world
      const ada = await w.signUp("corp.example")
      // Signed in with a password before: her session is kept, and ended by nothing here.
      const before = await w.linked(ada.userId)
      await lock(w, ada.userId)
      const provisioned = w.provisioned.length
      const profile = { sub: `s${people}`, email: ada.email, name: "From the IdP", email_verified: true }
      const refused = await w.ssoSignIn(profile)
      const to = new URL(refused.location ?? "", "http://localhost:3000")
      assert.deepStrictEqual([to.pathname, to.searchParams.get("error")], ["/failed", code])
      assert.isFalse(opensSession(refused.cookies))
      assert.deepStrictEqual(await w.linked(ada.userId), before)
      assert.strictEqual(w.provisioned.length, provisioned, "provisionUser not called")
      await unlock(w, ada.userId)
      const signedIn = await w.ssoSignIn(profile)
      assert.strictEqual(signedIn.location, "/done")
      assert.isTrue(opensSession(signedIn.cookies))
      assert.deepInclude(await w.linked(ada.userId), { accounts: ["credential", w.providerId].sort(), memberships: 1 })
      assert.include(w.provisioned, ada.userId)
    })

    it(`${how}: a browser holding their cookie signs in with SSO as someone else`, async () => {
      const w = held.world
      const ada = await w.signUp("corp.example")
      const bo = await w.signUp("corp.example")
      await lock(w, ada.userId)
      const other = await w.ssoSignIn({ sub: `s${people}`, email: bo.email, name: "Bo", email_verified: true }, ada.jar)
      assert.strictEqual(other.location, "/done", JSON.stringify(other.body))
      assert.isTrue(opensSession(other.cookies))
      assert.deepInclude(await w.linked(bo.userId), { memberships: 1 })
    })
  }
})
