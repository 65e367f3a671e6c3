/**
 * Better Auth's Expo plugin (`@better-auth/expo`) beside fusion-auth, on real Better Auth over
 * PGlite and Postgres, listed before `fusionAuth()`, with `account.storeAccountCookie` and an
 * OAuth provider of `genericOAuth()` whose token and profile come from the test. Expo's
 * after-hook copies a callback's `Set-Cookie` into the app's deep link (`?cookie=`): a
 * locked-out user's refused sign-in hands the native app no credential there (not the account
 * cookie with the provider's fresh tokens), and a device holding their cookie can still begin
 * a sign-in as someone else through expo's authorization proxy.
 */
import { assert, it } from "@effect/vitest"
import { expo } from "@better-auth/expo"
import { betterAuth } from "better-auth"
import { admin } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, mockOAuthProvider, quietOptions, signUpAs, type Profile } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

let people = 0

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  let says: Profile | undefined
  const auth = betterAuth({
    ...quietOptions(pool),
    trustedOrigins: ["http://localhost:3000", "myapp://"],
    account: { accountLinking: { trustedProviders: ["mock"] }, storeAccountCookie: true },
    plugins: [
      admin(),
      mockOAuthProvider(() => says, { token: { accessToken: "provider-access-token", refreshToken: "provider-refresh-token" } }),
      // Before fusion-auth: its after-hook runs first.
      expo(),
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  const signUp = async () => {
    const who = await signUpAs(call, `expo${++people}@example.com`)
    // Verified, so the provider's sign-in links to the account (Better Auth's rule for an existing address).
    await pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [who.userId])
    return who
  }
  /** A native app's OAuth sign-in: begun, then the provider's callback; its answer, and the cookies the deep link carries. */
  const oauthSignIn = async (profile: Profile) => {
    const begun = await call("/sign-in/social", "", { provider: "mock", callbackURL: "myapp://done", errorCallbackURL: "myapp://failed" })
    assert.strictEqual(begun.status, 200, JSON.stringify(begun.body))
    const state = new URL((begun.body as { url: string }).url).searchParams.get("state")!
    says = profile
    const back = await call(`/callback/mock?code=code&state=${encodeURIComponent(state)}`, begun.jar)
    const deepLink = back.location?.startsWith("myapp:") === true ? new URL(back.location) : undefined
    return { ...back, deepLink, carried: deepLink?.searchParams.get("cookie") ?? "" }
  }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, call, signUp, oauthSignIn, close }
}

describeOnBackends("Better Auth's Expo plugin for a locked-out user", makeWorld, (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: a refused OAuth sign-in's deep link carries no credential (no session, no account cookie); an active one's carries the session`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const profile = { id: `e${people}`, email: ada.email, name: "Ada", emailVerified: true }
      const linked = await w.oauthSignIn(profile)
      assert.match(linked.carried, /session_token=[^;]/, "an active user's deep link carries the session cookie")
      await lock(w, ada.userId)
      const refused = await w.oauthSignIn(profile)
      assert.strictEqual(refused.deepLink?.protocol, "myapp:", refused.location ?? "")
      assert.include([code, "BANNED_USER"], refused.deepLink?.searchParams.get("error"))
      assert.notMatch(refused.carried, /session_token=[^;]|account_data=[^;]/)
      assert.isFalse(refused.cookies.some((c) => /^better-auth\.(session_token|account_data)=[^;]/.test(c)))
      await unlock(w, ada.userId)
      assert.match((await w.oauthSignIn(profile)).carried, /session_token=[^;]/)
    })

    it(`${how}: a device holding their cookie can begin a sign-in through expo's authorization proxy, as one without`, async () => {
      const w = held.world
      const ada = await w.signUp()
      await lock(w, ada.userId)
      const authorizationURL = `https://idp.example/authorize?state=s${people}`
      const proxied = await w.call(`/expo-authorization-proxy?authorizationURL=${encodeURIComponent(authorizationURL)}`, ada.jar)
      assert.strictEqual(proxied.status, 302, JSON.stringify(proxied.body))
      assert.strictEqual(proxied.location, authorizationURL)
    })
  }
})
