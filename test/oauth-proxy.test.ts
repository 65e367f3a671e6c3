/**
 * Better Auth's OAuth proxy (`oAuthProxy()`) and popup sign-in (`oauthPopup()`) beside
 * fusion-auth, on real Better Auth over PGlite and Postgres, with a provider of `genericOAuth()`
 * whose token and profile come from the test (no network). The proxy's flow runs across two
 * Better Auth instances on one database, as a preview deployment and production share one: the
 * preview (http://localhost:3000) begins it, the provider sends the browser to production
 * (https://prod.example), whose `/callback/:id` sends the profile, encrypted, back to the
 * preview's `/callback/:id/oauth-proxy` (Better Auth 1.7.0 sends it to `/oauth-proxy-callback`,
 * still served, deprecated), where the session is opened. For a locked-out user that opens
 * nothing: the browser lands on the flow's error URL with `?error=USER_DEACTIVATED` /
 * `USER_BANNED` and no cookie, and a link finished there links nothing. A popup's completion
 * page, which posts the session token to the opener, posts the refusal's code instead, with no
 * token. A browser holding a locked-out user's cookie can still sign in as someone else at
 * either door, as it can at `/sign-in/social`. Once the lock-out ends, the same flows work.
 */
import { assert, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, oAuthProxy, oauthPopup } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, jarAfter, lockOutWays, mockOAuthProvider, opensSession, quietOptions, signUpAs, type Profile, STATE_CLEARED, visitOf } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

const PRODUCTION = "https://prod.example"
const PREVIEW = "http://localhost:3000"
/** The app's origin the popup posts to (an app embedding sign-in from another origin). */
const OPENER = "https://app.example"
let people = 0

interface WorldOptions {
  /** The app's own gate on provider data (`user.validateUserInfo`), which fusion-auth's runs before. Default on. */
  readonly gate?: boolean
}

const makeWorld = async (url: string, options: WorldOptions = {}) => {
  const pool = testPool(url, 4)
  /** What the provider says on the next callback. */
  let says: Profile | undefined
  /** One deployment of the app: the same plugins, its own `baseURL`, one database and secret for both. */
  const deployment = (baseURL: string) =>
    betterAuth({
      ...quietOptions(pool),
      baseURL,
      trustedOrigins: [PREVIEW, PRODUCTION, OPENER],
      account: { accountLinking: { trustedProviders: ["mock"] } },
      ...(options.gate === false ? {} : { user: { validateUserInfo: () => undefined } }),
      plugins: [
        admin(),
        mockOAuthProvider(() => says),
        oAuthProxy({ productionURL: PRODUCTION }),
        // Before fusion-auth: its after-hook, which turns a callback into the page posting the token, runs first.
        oauthPopup(),
        fusionAuth()
      ] as unknown as [ReturnType<typeof fusionAuth>]
    })
  const production = deployment(PRODUCTION)
  const preview = deployment(PREVIEW)
  await migrate(preview, { url })
  const app = createAuthSession(preview, { database: { url } })
  const call = browserOf(preview)
  /** A browser's GET of an absolute `link` on `auth` (the popup's completion page is HTML), with its `jar`. */
  const visit = (auth: typeof preview, link: string, jar = "") => visitOf(auth)(link, jar)
  const signUp = async () => {
    const who = await signUpAs(call, `proxy${++people}@example.com`)
    // Verified, so the provider's sign-in links to the account (Better Auth's rule for an existing address).
    await pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [who.userId])
    return { ...who, profile: { id: `p${people}`, email: who.email, name: "Ada", emailVerified: true } }
  }
  /**
   * A flow begun at the preview (`/sign-in/social`, `/link-social`) by the browser of `jar`, the
   * provider then sending it to production, which sends it back to the preview: the preview's
   * URL it is sent to (`/callback/mock/oauth-proxy?callbackURL=…&profile=…`), and the browser's jar.
   */
  const throughProduction = async (path: string, jar: string, profile: Profile) => {
    const begun = await call(path, jar, { provider: "mock", callbackURL: "/done", errorCallbackURL: "/failed" })
    assert.strictEqual(begun.status, 200, JSON.stringify(begun.body))
    const state = new URL((begun.body as { url: string }).url).searchParams.get("state")!
    says = profile
    const atProduction = await visit(production, `${PRODUCTION}/api/auth/callback/mock?code=code&state=${encodeURIComponent(state)}`)
    assert.strictEqual(atProduction.status, 302, JSON.stringify(atProduction.body))
    assert.isFalse(opensSession(atProduction.cookies), "production opens no session itself")
    const back = new URL(atProduction.location!)
    assert.strictEqual(`${back.origin}${back.pathname}`, `${PREVIEW}/api/auth/callback/mock/oauth-proxy`)
    return { back, jar: begun.jar }
  }
  /** The whole proxied flow, finished at the preview's `/callback/:id/oauth-proxy`, or at the deprecated `/oauth-proxy-callback`. */
  const proxied = async (path: string, jar: string, profile: Profile, door: "current" | "deprecated" = "current") => {
    const { back, jar: after } = await throughProduction(path, jar, profile)
    if (door === "deprecated") back.pathname = "/api/auth/oauth-proxy-callback"
    return visit(preview, back.href, after)
  }
  /** A popup's sign-in, begun at `/oauth-popup/start` by the popup's browser (`jar`) and finished at the preview's callback. */
  const popupStart = (jar = "") =>
    visit(preview, `${PREVIEW}/api/auth/oauth-popup/start?provider=mock&popupOrigin=${encodeURIComponent(OPENER)}&popupNonce=n${++people}&callbackURL=/done&errorCallbackURL=/failed`, jar)
  const popup = async (profile: Profile) => {
    const started = await popupStart()
    assert.strictEqual(started.status, 302, JSON.stringify(started.body))
    says = profile
    const state = new URL(started.location!).searchParams.get("state")!
    const done = await visit(preview, `${PREVIEW}/api/auth/callback/mock?code=code&state=${encodeURIComponent(state)}`, started.jar)
    // What the completion page posts to the opener: its inert JSON block.
    const block = /<script type="application\/json" id="better-auth-oauth-popup">(.*?)<\/script>/s.exec(done.text)?.[1]
    return { ...done, posted: block === undefined ? undefined : (JSON.parse(block) as { token?: string; error?: { code: string }; targetOrigin: string }) }
  }
  const accounts = async (userId: string) =>
    (await pool.query(`select "providerId" from "account" where "userId" = $1 order by "providerId"`, [userId])).rows.map((row) => row.providerId as string)
  const whoHolds = async (jar: string) => (await app.getSession(new Headers({ cookie: jar })))?.user.id
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, call, signUp, throughProduction, proxied, popupStart, popup, accounts, whoHolds, close }
}

describeOnBackends("Better Auth's OAuth proxy for a locked-out user", makeWorld, (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    /** The codes a refusal may carry: fusion-auth's, or for a ban the admin plugin's own refusal of a banned sign-in. */
    const codes = code === "USER_BANNED" ? [code, "BANNED_USER"] : [code]

    it(`${how}: a proxied sign-in opens no session, at the current and the deprecated door: the browser lands on the error URL with ?error=${code}; once it ends, it signs in`, async () => {
      const w = held.world
      const ada = await w.signUp()
      assert.strictEqual((await w.proxied("/sign-in/social", "", ada.profile)).location, "/done", "the door is open")
      await lock(w, ada.userId)
      for (const door of ["current", "deprecated"] as const) {
        const refused = await w.proxied("/sign-in/social", "", ada.profile, door)
        assert.deepInclude(refused, { status: 302, cookies: [STATE_CLEARED] }, `${door}: ${JSON.stringify(refused.body)}`)
        assert.match(refused.location!, /^\/failed\?error=/, door)
        assert.include(codes, new URL(refused.location!, PREVIEW).searchParams.get("error"), door)
      }
      await unlock(w, ada.userId)
      const signedIn = await w.proxied("/sign-in/social", "", ada.profile)
      assert.strictEqual(signedIn.location, "/done")
      assert.strictEqual(await w.whoHolds(signedIn.jar), ada.userId)
    })

    it(`${how}: a link begun before the lock-out and finished through the proxy links nothing; the browser lands on the error URL with ?error=${code}`, async () => {
      const w = held.world
      const cy = await w.signUp()
      const { back, jar } = await w.throughProduction("/link-social", cy.jar, cy.profile)
      await lock(w, cy.userId)
      const answer = await w.call(back.href.slice(`${PREVIEW}/api/auth`.length), jar)
      assert.deepStrictEqual(answer.cookies, [STATE_CLEARED])
      assert.deepStrictEqual(await w.accounts(cy.userId), ["credential"])
      assert.strictEqual(answer.status, 302, JSON.stringify(answer.body))
      assert.match(answer.location!, /^\/failed\?error=/)
      assert.include(codes, new URL(answer.location!, PREVIEW).searchParams.get("error"))
    })

    it(`${how}: a browser holding their cookie finishes someone else's proxied sign-in at /callback/:id/oauth-proxy as that person`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const bo = await w.signUp()
      await lock(w, ada.userId)
      const asBo = await w.proxied("/sign-in/social", ada.jar, bo.profile)
      assert.strictEqual(asBo.location, "/done", JSON.stringify(asBo.body))
      assert.strictEqual(await w.whoHolds(asBo.jar), bo.userId)
    })

    it(`${how}: a browser holding their cookie finishes someone else's proxied sign-in at the deprecated /oauth-proxy-callback (the only door on Better Auth 1.7.0) as that person, as at the current door`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const bo = await w.signUp()
      await lock(w, ada.userId)
      const asBo = await w.proxied("/sign-in/social", ada.jar, bo.profile, "deprecated")
      assert.strictEqual(asBo.status, 302, JSON.stringify(asBo.body))
      assert.strictEqual(asBo.location, "/done")
      assert.strictEqual(await w.whoHolds(asBo.jar), bo.userId)
    })
  }

  it("with no gate of the app's, a link finished through the proxy after deactivation links nothing, and the browser lands on the error URL as the docs promise", async () => {
    const own = await makeWorld(held.db.url, { gate: false })
    try {
      const cy = await own.signUp()
      const { back, jar } = await own.throughProduction("/link-social", cy.jar, cy.profile)
      await own.app.users.deactivate(cy.userId)
      const answer = await own.call(back.href.slice(`${PREVIEW}/api/auth`.length), jar)
      assert.deepStrictEqual(answer.cookies, [STATE_CLEARED])
      assert.deepStrictEqual(await own.accounts(cy.userId), ["credential"])
      assert.strictEqual(answer.status, 302, `got ${answer.status} ${JSON.stringify(answer.body)}`)
      assert.strictEqual(answer.location, "/failed?error=USER_DEACTIVATED&error_description=This+account+is+deactivated.")
    } finally {
      await own.close()
    }
  })
})

describeOnBackends("Better Auth's popup sign-in for a locked-out user", makeWorld, (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    const codes = code === "USER_BANNED" ? [code, "BANNED_USER"] : [code]

    it(`${how}: the completion page posts the refusal (${code}) to the opener with no session token, and sets no session cookie; once it ends it posts the token`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const open = await w.popup(ada.profile)
      assert.isString(open.posted?.token, "an active user's page posts the session token")
      await lock(w, ada.userId)
      const refused = await w.popup(ada.profile)
      assert.strictEqual(refused.status, 200, refused.text)
      assert.strictEqual(refused.posted?.targetOrigin, OPENER)
      assert.include(codes, refused.posted?.error?.code)
      assert.notProperty(refused.posted!, "token")
      assert.notMatch(refused.text, /session_token|"token"/)
      assert.isFalse(opensSession(refused.cookies))
      await unlock(w, ada.userId)
      const again = await w.popup(ada.profile)
      assert.isString(again.posted?.token)
      assert.strictEqual(await w.whoHolds(`better-auth.session_token=${encodeURIComponent(again.posted!.token!)}`), ada.userId)
    })

    it(`${how}: a popup holding their cookie begins a sign-in as someone else at /oauth-popup/start, as at /sign-in/social`, async () => {
      const w = held.world
      const ada = await w.signUp()
      await lock(w, ada.userId)
      const social = await w.call("/sign-in/social", ada.jar, { provider: "mock", callbackURL: "/done" })
      assert.strictEqual(social.status, 200, "the door it is compared with is open")
      const started = await w.popupStart(ada.jar)
      assert.strictEqual(started.status, 302, JSON.stringify(started.body))
      assert.match(started.location!, /^https:\/\/idp\.example\/authorize\?/)
    })
  }
})
