/**
 * OAuth sign-in and linking for a locked-out user, on real Better Auth over PGlite and Postgres,
 * with a provider of Better Auth's `genericOAuth()` whose token and profile come from the test
 * (no network). Better Auth writes what the provider says (a linked account, the profile with
 * `overrideUserInfo`, the address) before it opens the session that fusion-auth refuses, so the
 * refusal comes first: a locked-out user's refused OAuth sign-in or link changes nothing of
 * theirs, and once the lock-out ends the same flows work.
 */
import { assert, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, anonymous, bearer, siwe } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { authRequest, impersonate, jarAfter, mockOAuthProvider, quietOptions, type Profile, STATE_CLEARED } from "./support/auth.ts"
import { describeOnBackends, testPool, withWorld } from "./support/databases.ts"

let people = 0

describeOnBackends("OAuth for a locked-out user", (url) => makeWorld(url), (held) => {
  it("first OAuth sign-in of a deactivated user (the provider's address is theirs): refused, no account linked, profile unchanged; after reactivation linked and signed in", async () => {
    const ada = await held.world.signUp()
    await held.world.app.users.deactivate(ada.userId)
    const profile = { id: `p${++people}`, email: ada.email, name: "From the provider", emailVerified: true }
    const refused = await held.world.oauthSignIn(profile)
    assert.strictEqual(refused.location?.includes("error="), true, `redirected with an error, got ${refused.location}`)
    assert.deepStrictEqual(await held.world.accounts(ada.userId), ["credential"])
    assert.deepInclude(await held.world.user(ada.userId), { name: "Ada", email: ada.email })
    await held.world.app.users.reactivate(ada.userId)
    const signedIn = await held.world.oauthSignIn(profile)
    assert.strictEqual(signedIn.location, "/done")
    assert.deepStrictEqual(await held.world.accounts(ada.userId), ["credential", "mock"])
  })

  it("with the app's own validateUserInfo, OAuth sign-in of a banned user whose account is linked, the provider now saying another address and name: refused before either is written", async () => {
    const bo = await held.world.signUp()
    const profile = { id: `p${++people}`, email: bo.email, name: "Bo", emailVerified: true }
    assert.strictEqual((await held.world.oauthSignIn(profile)).location, "/done")
    await held.world.pool.query(`update "user" set "banned" = true where "id" = $1`, [bo.userId])
    const refused = await held.world.oauthSignIn({ ...profile, email: `taken${people}@example.com`, name: "Someone else" })
    assert.strictEqual(refused.location?.includes("error="), true, `redirected with an error, got ${refused.location}`)
    assert.deepInclude(await held.world.user(bo.userId), { name: "Bo", email: bo.email })
  })

  it("a link started while the user could act, finished after deactivation: refused, nothing linked, profile unchanged", async () => {
    const cy = await held.world.signUp()
    const started = await held.world.linkStart(cy.jar)
    await held.world.app.users.deactivate(cy.userId)
    const finished = await held.world.callback(started, { id: `p${++people}`, email: cy.email, name: "Linked name", emailVerified: true })
    assert.strictEqual(finished.location?.includes("error="), true, `redirected with an error, got ${finished.location}`)
    assert.deepStrictEqual(await held.world.accounts(cy.userId), ["credential"])
    assert.deepInclude(await held.world.user(cy.userId), { name: "Ada" })
  })

  it("with no gate of the app's, an ID-token sign-in of a deactivated user from a browser holding someone else's session links nothing to them", async () => {
    await withWorld(makeWorld(held.db.url, { gate: false }), async (own) => {
      const other = await own.signUp()
      const locked = await own.signUp()
      await own.app.users.deactivate(locked.userId)
      own.idTokenSays({ id: `g${++people}`, email: locked.email, name: "From Google", emailVerified: true })
      for (const jar of ["", other.jar]) {
        const answer = await own.call("/sign-in/social", jar, { provider: "google", idToken: { token: "id-token" } })
        assert.deepInclude(answer, { status: 403, body: { code: "USER_DEACTIVATED", message: "This account is deactivated." } })
      }
      assert.deepStrictEqual(await own.accounts(locked.userId), ["credential"])
      assert.deepInclude(await own.user(locked.userId), { name: "Ada" })
    })
  })

  it("an anonymous user who starts an OAuth sign-up and is deactivated before the callback is not handed to the new account nor deleted (the flow's state names them)", async () => {
    const anon = await held.world.anonymousUser()
    const started = await held.world.begin("/sign-in/social", anon.jar, { provider: "mock", callbackURL: "/done", errorCallbackURL: "/failed" })
    await held.world.app.users.deactivate(anon.userId)
    // The browser still holds the anonymous cookie, taken off at the callback: the flow's state still names the user.
    const finished = await held.world.callback(started, { id: `p${++people}`, email: `fresh${people}@example.com`, name: "Fresh", emailVerified: true })
    assert.strictEqual(finished.location, "/done", "the new account signs in")
    assert.notInclude(held.world.links.map((link) => link.from), anon.userId)
    assert.isDefined(await held.world.user(anon.userId), "the deactivated anonymous account is kept")
  })

  it("an anonymous user who is not locked out is handed over through the same flow", async () => {
    const anon = await held.world.anonymousUser()
    const started = await held.world.begin("/sign-in/social", anon.jar, { provider: "mock", callbackURL: "/done", errorCallbackURL: "/failed" })
    await held.world.callback(started, { id: `p${++people}`, email: `fresh${people}@example.com`, name: "Fresh", emailVerified: true })
    assert.include(held.world.links.map((link) => link.from), anon.userId)
    assert.isUndefined(await held.world.user(anon.userId), "the plugin deletes the anonymous account it handed over")
  })

  it("with no gate of the app's, linking again a provider already linked, finished after deactivation: refused, profile and tokens unchanged", async () => {
    await withWorld(makeWorld(held.db.url, { gate: false }), async (own) => {
      const dee = await own.signUp()
      const profile = { id: `p${++people}`, email: dee.email, name: "Ada", emailVerified: true }
      assert.strictEqual((await own.callback(await own.linkStart(dee.jar), profile)).location, "/done")
      const tokens = await own.pool.query(`select "accessToken", "updatedAt" from "account" where "userId" = $1 and "providerId" = 'mock'`, [dee.userId])
      const again = await own.linkStart(dee.jar)
      await own.app.users.deactivate(dee.userId)
      const finished = await own.callback(again, { ...profile, name: "Renamed by the provider" })
      // Refused where Better Auth writes, and sent to the flow's error URL as Better Auth sends a link it cannot make.
      assert.deepInclude(finished, { status: 302, location: "/failed?error=USER_DEACTIVATED&error_description=This+account+is+deactivated." })
      assert.deepInclude(await own.user(dee.userId), { name: "Ada" })
      assert.deepStrictEqual((await own.pool.query(`select "accessToken", "updatedAt" from "account" where "userId" = $1 and "providerId" = 'mock'`, [dee.userId])).rows, tokens.rows)
    })
  })

  it("with no gate of the app's, a link begun by an admin impersonating the user and finished after the admin's deactivation: refused, nothing linked; one begun by the user themself links", async () => {
    await withWorld(makeWorld(held.db.url, { gate: false }), async (own) => {
      const admin = await own.signUpAdmin()
      const xena = await own.signUp()
      const asXena = await impersonate(own.auth, admin.jar, xena.userId)
      const started = await own.linkStart(asXena)
      await own.app.users.deactivate(admin.userId)
      const finished = await own.callback(started, { id: `p${++people}`, email: xena.email, name: "Linked", emailVerified: true })
      assert.deepInclude(finished, { status: 302, location: "/failed?error=USER_DEACTIVATED&error_description=This+account+is+deactivated." })
      assert.deepStrictEqual(await own.accounts(xena.userId), ["credential"])
      assert.deepInclude(await own.user(xena.userId), { name: "Ada" })
      const own_ = await own.callback(await own.linkStart(xena.jar), { id: `p${people}`, email: xena.email, name: "Ada", emailVerified: true })
      assert.strictEqual(own_.location, "/done")
      assert.deepStrictEqual(await own.accounts(xena.userId), ["credential", "mock"])
    })
  })

  it("a link whose request carries an impersonation cookie and another user's bearer token is that user's: the admin's later lock-out does not refuse it", async () => {
    await withWorld(makeWorld(held.db.url, { gate: false }), async (own) => {
      const admin = await own.signUpAdmin()
      const cy = await own.signUp()
      const bo = await own.signUp()
      const asCy = await impersonate(own.auth, admin.jar, cy.userId)
      const boToken = decodeURIComponent(bo.jar.match(/better-auth\.session_token=([^;]+)/)![1]!)
      const started = await own.linkStart(asCy, { authorization: `Bearer ${boToken}` })
      await own.app.users.deactivate(admin.userId)
      const finished = await own.callback(started, { id: `p${++people}`, email: bo.email, name: "Ada", emailVerified: true })
      assert.strictEqual(finished.location, "/done")
      assert.deepStrictEqual(await own.accounts(bo.userId), ["credential", "mock"])
      assert.deepStrictEqual(await own.accounts(cy.userId), ["credential"])
    })
  })

  it("the app's own validateUserInfo still decides for a user who is not locked out", async () => {
    const dee = await held.world.signUp()
    const refused = await held.world.oauthSignIn({ id: `p${++people}`, email: dee.email, name: "Blocked", emailVerified: true })
    assert.match(refused.location ?? "", /^\/failed\?error=blocked_name&/)
    assert.deepStrictEqual(await held.world.accounts(dee.userId), ["credential"])
  })

  it("an admin may still give a deactivated user a password account (/admin/set-user-password): someone else, checked at the door", async () => {
    const signedIn = (await held.world.signUpAdmin()).jar
    const email = `only-oauth${++people}@example.com`
    assert.strictEqual((await held.world.oauthSignIn({ id: `p${people}`, email, name: "Eve", emailVerified: true })).location, "/done")
    const eve = (await held.world.pool.query(`select "id" from "user" where "email" = $1`, [email])).rows[0].id as string
    await held.world.app.users.deactivate(eve)
    assert.strictEqual((await held.world.post("/admin/set-user-password", signedIn, { userId: eve, newPassword: "another horse battery" })).status, 200)
    assert.deepStrictEqual(await held.world.accounts(eve), ["credential", "mock"])
  })

  it("with the account cookie stored (account.storeAccountCookie) and no gate of the app's: a returning user's refused sign-in sets no cookie (an OAuth redirect only clears the flow's state, as Better Auth does), deactivated (ID token, OAuth redirect) or banned", async () => {
    await withWorld(makeWorld(held.db.url, { gate: false, accountCookie: true }), async (own) => {
      const ada = await own.signUp()
      const google = { id: `g${++people}`, email: ada.email, name: "Ada", emailVerified: true }
      own.idTokenSays(google)
      const idTokenSignIn = () => own.call("/sign-in/social", "", { provider: "google", idToken: { token: "id-token" } })
      const linked = await idTokenSignIn()
      assert.strictEqual(linked.status, 200)
      assert.isTrue(linked.cookies.some((cookie) => cookie.startsWith("better-auth.account_data=")), "Better Auth stores the account cookie")
      const mock = { id: `m${people}`, email: ada.email, name: "Ada", emailVerified: true }
      assert.strictEqual((await own.oauthSignIn(mock)).location, "/done")
      await own.app.users.deactivate(ada.userId)
      assert.deepInclude(await idTokenSignIn(), { status: 403, body: { code: "USER_DEACTIVATED", message: "This account is deactivated." }, cookies: [] })
      const redirected = await own.oauthSignIn(mock)
      assert.deepInclude(redirected, { status: 302, cookies: [STATE_CLEARED] }, "the flow's state cleared, nothing else")
      assert.match(redirected.location!, /^\/failed\?error=USER_DEACTIVATED(&|$)/)
      await own.app.users.reactivate(ada.userId)
      await own.pool.query(`update "user" set "banned" = true where "id" = $1`, [ada.userId])
      const banned = await idTokenSignIn()
      assert.deepInclude(banned, { status: 403, cookies: [] })
      assert.strictEqual((banned.body as { code: string }).code, "BANNED_USER") // the admin plugin's own refusal
    })
  })

  it("a user who is not locked out, sent back to a callbackURL that happens to say error=USER_DEACTIVATED, still gets their session cookie", async () => {
    const ada = await held.world.signUp()
    const profile = { id: `m${++people}`, email: ada.email, name: "Ada", emailVerified: true }
    const started = await held.world.begin("/sign-in/social", "", { provider: "mock", callbackURL: "/done?error=USER_DEACTIVATED", errorCallbackURL: "/failed" })
    const signedIn = await held.world.callback(started, profile)
    assert.strictEqual(signedIn.location, "/done?error=USER_DEACTIVATED")
    assert.isTrue(signedIn.cookies.some((cookie) => cookie.startsWith("better-auth.session_token=")), signedIn.cookies.join("\n"))
  })

  it("a wallet (siwe()) of a deactivated user signing in on a new chain is refused with nothing written for it; after reactivation that chain links", async () => {
    const wallet = `0x${String(++people).padStart(40, "a")}`
    const first = await held.world.siweVerify(wallet, 1)
    assert.strictEqual(first.status, 200)
    const userId = (first.body as { user: { id: string } }).user.id
    await held.world.app.users.deactivate(userId)
    const chains = async () => (await held.world.pool.query(`select "chainId" from "walletAddress" where "userId" = $1 order by "chainId"`, [userId])).rows.map((row) => Number(row.chainId))
    for (const chainId of [137, 1]) assert.deepInclude(await held.world.siweVerify(wallet, chainId), { status: 403, body: { code: "USER_DEACTIVATED", message: "This account is deactivated." }, cookies: [] })
    assert.deepStrictEqual(await chains(), [1])
    assert.deepStrictEqual(await held.world.accounts(userId), ["siwe"])
    await held.world.app.users.reactivate(userId)
    assert.strictEqual((await held.world.siweVerify(wallet, 137)).status, 200)
    assert.deepStrictEqual(await chains(), [1, 137])
    assert.deepStrictEqual(await held.world.accounts(userId), ["siwe", "siwe"])
  })

  it("an app that holds new users for approval (created banned, its hook also dropping a +tag from the address): sign-up and an OAuth sign-up keep their accounts; after the approval, both sign in", async () => {
    await withWorld(makeWorld(held.db.url, { heldForApproval: true }), async (own) => {
      const email = `held${++people}@example.com`
      const signedUp = await own.call("/sign-up/email", "", { email: email.replace("@", "+tag@"), password: "correct horse battery", name: "Held" })
      assert.strictEqual(signedUp.status, 200)
      const userId = (await own.pool.query(`select "id" from "user" where "email" = $1`, [email])).rows[0].id as string
      assert.deepStrictEqual(await own.accounts(userId), ["credential"])
      const viaOAuth = `held${++people}@example.com`
      const refused = await own.oauthSignIn({ id: `p${people}`, email: viaOAuth, name: "Held", emailVerified: true })
      assert.match(refused.location ?? "", /error=/)
      const oauthUser = (await own.pool.query(`select "id" from "user" where "email" = $1`, [viaOAuth])).rows[0].id as string
      assert.deepStrictEqual(await own.accounts(oauthUser), ["mock"])
      await own.pool.query(`update "user" set "banned" = false where "id" in ($1, $2)`, [userId, oauthUser])
      assert.strictEqual((await own.call("/sign-in/email", "", { email, password: "correct horse battery" })).status, 200)
      assert.strictEqual((await own.oauthSignIn({ id: `p${people}`, email: viaOAuth, name: "Held", emailVerified: true })).location, "/done")
    })
  })

  it("with no gate of the app's, fusion-auth sets none: a user created outside any request (a seed) needs no source", async () => {
    await withWorld(makeWorld(held.db.url, { gate: false }), async (own) => {
      const context = await own.auth.$context
      assert.isUndefined(context.options.user?.validateUserInfo)
      const seeded = await context.internalAdapter.createUser({ email: `seed${++people}@example.com`, name: "Seed", emailVerified: false }, { method: "seed" })
      assert.isString(seeded?.id)
    })
  })
})

interface WorldOptions {
  /** The app's own gate on provider data (`user.validateUserInfo`): refuses a profile named "Blocked". Default on. */
  readonly gate?: boolean
  /** New users are created banned, held for an admin's approval (`databaseHooks.user.create.before`). */
  readonly heldForApproval?: boolean
  /** Better Auth keeps the linked account in a cookie (`account.storeAccountCookie`). */
  readonly accountCookie?: boolean
}

const makeWorld = async (url: string, options: WorldOptions = {}) => {
  const pool = testPool(url, 2)
  /** What the provider says on the next callback. */
  let next: Profile | undefined
  /** What Google's ID token says (verified by the test, not by Google). */
  let idToken: Profile | undefined
  /** The anonymous plugin's hand-overs. */
  const links: Array<{ from: string; to: string }> = []
  let nonces = 0
  const auth = betterAuth({
    ...quietOptions(pool),
    account: {
      accountLinking: { trustedProviders: ["mock", "google"], updateUserInfoOnLink: true },
      ...(options.accountCookie === true ? { storeAccountCookie: true } : {})
    },
    socialProviders: {
      google: {
        clientId: "client",
        clientSecret: "secret",
        verifyIdToken: async () => true,
        getUserInfo: async () => (idToken === undefined ? null : ({ user: { ...idToken }, data: { sub: idToken.id } }) as never)
      }
    },
    // The app's own gate on provider data, which fusion-auth's runs before.
    ...(options.gate === false ? {} : { user: { validateUserInfo: ({ user }) => (user.name === "Blocked" ? { error: "blocked_name" } : undefined) } }),
    ...(options.heldForApproval === true
      ? {
        // As such an app does: a sign-up opens no session (Better Auth would roll the new user back with it).
        emailAndPassword: { ...quietOptions(pool).emailAndPassword, autoSignIn: false },
        databaseHooks: {
          user: { create: { before: async (user: Record<string, unknown>) => ({ data: { ...user, email: String(user.email).replace(/\+[^@]*@/, "@"), banned: true } }) } }
        }
      }
      : {}),
    plugins: [
      admin(),
      bearer(),
      // Its hook on /sign-in/social reads the browser's session, whoever's it is; it hands an anonymous user over at sign-up.
      anonymous({ onLinkAccount: async ({ anonymousUser, newUser }) => void links.push({ from: anonymousUser.user.id, to: newUser.user.id }) }),
      mockOAuthProvider(() => next, { overrideUserInfo: true }),
      // Sign-in with Ethereum; the test signs nothing: every signature is taken.
      siwe({ domain: "localhost:3000", getNonce: async () => `nonce${String(++nonces).padStart(8, "0")}`, verifyMessage: async () => true }),
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = async (path: string, jar: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await auth.handler(authRequest(path, jar, body, headers))
    const text = await response.text()
    const cookies = response.headers.getSetCookie()
    return { status: response.status, body: text === "" ? null : JSON.parse(text) as unknown, location: response.headers.get("location"), cookies, jar: jarAfter(jar, cookies) }
  }
  /** A wallet's sign-in with Ethereum on `chainId`, from a fresh browser. */
  const siweVerify = async (address: string, chainId: number) => {
    const { nonce } = (await call("/siwe/nonce", "", {})).body as { nonce: string }
    const message = `localhost:3000 wants you to sign in with your Ethereum account:\n${address}\n\nURI: http://localhost:3000\nVersion: 1\n` +
      `Chain ID: ${chainId}\nNonce: ${nonce}\nIssued At: ${new Date().toISOString()}`
    return call("/siwe/verify", "", { message, signature: "0x00" })
  }
  /** The provider's redirect back, for a flow started with `started` (its state, the browser's jar). */
  const callback = async (started: { readonly state: string; readonly jar: string }, profile: Profile) => {
    next = profile
    return call(`/callback/mock?code=code&state=${encodeURIComponent(started.state)}`, started.jar)
  }
  const begin = async (path: string, jar: string, body: unknown, headers?: Record<string, string>) => {
    const answer = await call(path, jar, body, headers)
    const redirect = new URL((answer.body as { url: string }).url)
    return { state: redirect.searchParams.get("state")!, jar: answer.jar }
  }
  const oauthSignIn = async (profile: Profile) => callback(await begin("/sign-in/social", "", { provider: "mock", callbackURL: "/done", errorCallbackURL: "/failed" }), profile)
  const linkStart = (jar: string, headers?: Record<string, string>) =>
    begin("/link-social", jar, { provider: "mock", callbackURL: "/done", errorCallbackURL: "/failed" }, headers)
  const signUp = async () => {
    const email = `oauth${++people}@example.com`
    const answer = await call("/sign-up/email", "", { email, password: "correct horse battery", name: "Ada" })
    if (answer.status !== 200) throw new Error(`sign-up: ${answer.status}`)
    const userId = (answer.body as { user: { id: string } }).user.id
    await pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [userId]) // Better Auth links only a verified address
    return { email, userId, jar: answer.jar }
  }
  const post = async (path: string, jar: string, body: unknown) => call(path, jar, body)
  /** A user made an admin (the admin plugin's role), signed in: `jar` is the admin's browser. */
  const signUpAdmin = async () => {
    const admin = await signUp()
    await pool.query(`update "user" set "role" = 'admin' where "id" = $1`, [admin.userId])
    return { ...admin, jar: await signIn(admin.email) }
  }
  const signIn = async (email: string) => (await call("/sign-in/email", "", { email, password: "correct horse battery" })).jar
  const accounts = async (userId: string) =>
    (await pool.query(`select "providerId" from "account" where "userId" = $1 order by "providerId"`, [userId])).rows.map((row) => row.providerId as string)
  const user = async (userId: string) => (await pool.query(`select "name", "email" from "user" where "id" = $1`, [userId])).rows[0] as { name: string; email: string }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  const idTokenSays = (profile: Profile) => void (idToken = profile)
  const anonymousUser = async () => {
    const answer = await call("/sign-in/anonymous", "", {})
    return { userId: (answer.body as { user: { id: string } }).user.id, jar: answer.jar }
  }
  return { auth, app, pool, call, siweVerify, idTokenSays, links, anonymousUser, begin, signUp, signUpAdmin, signIn, post, oauthSignIn, linkStart, callback, accounts, user, close }
}
