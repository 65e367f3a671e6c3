/**
 * Better Auth's magic-link plugin (`magicLink()`) beside fusion-auth, on real Better Auth over
 * PGlite and Postgres, the links taken from `sendMagicLink` as the app's mailer would get them.
 * A link mailed before the lock-out and followed after it opens no session for a locked-out
 * user; in a browser, which is where a mailed link is clicked, the refusal sends it to the
 * link's `errorCallbackURL` with `?error=USER_DEACTIVATED` / `USER_BANNED`, as Better Auth sends
 * its own refusals there (a used or unknown link: `?error=INVALID_TOKEN`) — but for a banned user
 * when the admin plugin is listed first, whose own refusal of a banned sign-in answers — and the
 * refused link takes nothing from the user (no password, no session), so once the lock-out ends
 * the same password and cookie work, and a new link signs them in. Asking for a link while locked out is
 * answered as for anyone. A browser holding a locked-out user's cookie follows someone else's
 * link as that person (`OPENING`), and a new address signs up through its link as before.
 */
import { assert, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, magicLink } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, opensSession, quietOptions, signUpAs, visitOf } from "./support/auth.ts"
import { describeOnBackends, testPool, withWorld } from "./support/databases.ts"

const PASSWORD = "correct horse battery"
let people = 0

/** Better Auth with `magicLink()` and `admin()`, fusion-auth listed first, or (`adminFirst`) after admin's own refusal of a banned user. */
const makeWorld = async (url: string, options: { readonly adminFirst?: boolean } = {}) => {
  const pool = testPool(url, 2)
  /** What the app's mailer was given: each link, with the address it went to. */
  const mailed: Array<{ email: string; url: string }> = []
  const auth = betterAuth({
    ...quietOptions(pool),
    plugins: (options.adminFirst === true ? [admin(), fusionAuth()] : [fusionAuth(), admin()]).concat(
      magicLink({ sendMagicLink: async ({ email, url }) => void mailed.push({ email, url }) }) as never
    ) as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  /** A user signed up with email and password (their address not verified, as such a sign-up leaves it), or `verified`. */
  const signUp = async (verified = false) => {
    const who = await signUpAs(call, `magic${++people}@example.com`)
    if (verified) await pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [who.userId])
    return who
  }
  /** Asks for a link to `email` (`/sign-in/magic-link`): the answer, and the link mailed for it (if any). */
  const ask = async (email: string, urls: Record<string, string> = { callbackURL: "/done", errorCallbackURL: "/failed" }) => {
    const before = mailed.length
    const answer = await call("/sign-in/magic-link", "", { email, ...urls })
    return { ...answer, link: mailed.slice(before).find((mail) => mail.email === email)?.url }
  }
  /** The link mailed to `email`, asked for with `urls`. */
  const linkFor = async (email: string, urls?: Record<string, string>) => {
    const { status, link } = await ask(email, urls)
    if (status !== 200 || link === undefined) throw new Error(`no magic link mailed: ${status}`)
    return link
  }
  /** A click on `link` in a browser holding `jar`. */
  const follow = visitOf(auth)
  const sessions = async (userId: string) => Number((await pool.query(`select count(*) as n from "session" where "userId" = $1`, [userId])).rows[0].n)
  const whoHolds = async (jar: string) => (await app.getSession(new Headers({ cookie: jar })))?.user.id
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { auth, app, pool, mailed, call, signUp, ask, linkFor, follow, sessions, whoHolds, close }
}

describeOnBackends("Better Auth's magic link for a locked-out user", (url) => makeWorld(url), (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: a link mailed before the lock-out, followed after it, opens no session and sends the browser to its errorCallbackURL with ?error=${code}, as Better Auth sends its own refusals there (an unknown link); without one, to its callbackURL, else to /`, async () => {
      const w = held.world
      const ada = await w.signUp(true)
      const links = {
        "http://localhost:3000/failed": await w.linkFor(ada.email),
        "http://localhost:3000/done": await w.linkFor(ada.email, { callbackURL: "/done" }),
        "http://localhost:3000/": await w.linkFor(ada.email, {})
      }
      const unknown = new URL(links["http://localhost:3000/failed"])
      unknown.searchParams.set("token", "no-such-token")
      assert.deepInclude(await w.follow(unknown.href), { status: 302, location: "http://localhost:3000/failed?error=INVALID_TOKEN", cookies: [] })
      const sessions = await w.sessions(ada.userId)
      await lock(w, ada.userId)
      for (const [to, link] of Object.entries(links)) {
        const refused = await w.follow(link)
        assert.deepInclude(refused, { status: 302, cookies: [] }, `got ${refused.status} ${JSON.stringify(refused.body)}`)
        const sentTo = new URL(refused.location!)
        assert.strictEqual(`${sentTo.origin}${sentTo.pathname}`, to)
        assert.strictEqual(sentTo.searchParams.get("error"), code)
      }
      assert.strictEqual(await w.sessions(ada.userId), sessions, "no session row opened")
    })

    it(`${how}, the address not yet verified (a password sign-up): the refused link takes nothing from them; once the lock-out ends the same password and cookie work and a new link signs in`, async () => {
      const w = held.world
      const ada = await w.signUp() // emailVerified: false, as Better Auth leaves a password sign-up without verification
      const link = await w.linkFor(ada.email)
      await lock(w, ada.userId)
      assert.isFalse(opensSession((await w.follow(link)).cookies))
      await unlock(w, ada.userId)
      const password = await w.call("/sign-in/email", "", { email: ada.email, password: PASSWORD })
      assert.strictEqual(password.status, 200, `the same password signs in: ${JSON.stringify(password.body)}`)
      assert.strictEqual(await w.whoHolds(ada.jar), ada.userId, "the browser's cookie from before the lock-out works again")
      const fresh = await w.follow(await w.linkFor(ada.email))
      assert.deepInclude(fresh, { status: 302, location: "http://localhost:3000/done" })
      assert.strictEqual(await w.whoHolds(fresh.jar), ada.userId)
    })

    it(`${how}, a user with no account at all (made by the app, the address unverified): the refused link keeps their sessions and their address unverified`, async () => {
      const w = held.world
      const internal = (await w.auth.$context).internalAdapter
      const made = await internal.createUser({ email: `bare${++people}@example.com`, emailVerified: false, name: "Bare" }, { method: "admin" })
      await internal.createSession(made.id, false)
      const link = await w.linkFor(made.email)
      await lock(w, made.id)
      const refused = await w.follow(link)
      assert.strictEqual(new URL(refused.location ?? "http://x/").searchParams.get("error"), code)
      assert.strictEqual(await w.sessions(made.id), 1, "the session kept")
      assert.deepStrictEqual((await w.pool.query(`select "emailVerified" from "user" where "id" = $1`, [made.id])).rows, [{ emailVerified: false }])
    })

    it(`${how}: once the lock-out ends, a new link signs them in as before`, async () => {
      const w = held.world
      const ada = await w.signUp(true)
      const before = await w.linkFor(ada.email)
      await lock(w, ada.userId)
      assert.isFalse(opensSession((await w.follow(before)).cookies))
      await unlock(w, ada.userId)
      const signedIn = await w.follow(await w.linkFor(ada.email))
      assert.deepInclude(signedIn, { status: 302, location: "http://localhost:3000/done" })
      assert.isTrue(opensSession(signedIn.cookies))
      assert.strictEqual(await w.whoHolds(signedIn.jar), ada.userId)
    })

    it(`${how}: a browser holding their cookie follows someone else's link as that person, and a new address's link signs it up`, async () => {
      const w = held.world
      const ada = await w.signUp(true)
      const bo = await w.signUp(true)
      await lock(w, ada.userId)
      const asBo = await w.follow(await w.linkFor(bo.email), ada.jar)
      assert.deepInclude(asBo, { status: 302, location: "http://localhost:3000/done" }, JSON.stringify(asBo.body))
      assert.isTrue(opensSession(asBo.cookies))
      assert.strictEqual(await w.whoHolds(asBo.jar), bo.userId)
      const email = `newcomer${++people}@example.com`
      const newcomer = await w.follow(await w.linkFor(email, { callbackURL: "/done", newUserCallbackURL: "/welcome" }), ada.jar)
      assert.deepInclude(newcomer, { status: 302, location: "http://localhost:3000/welcome" }, JSON.stringify(newcomer.body))
      const created = (await w.pool.query(`select "id", "emailVerified" from "user" where "email" = $1`, [email])).rows[0]
      assert.strictEqual(await w.whoHolds(newcomer.jar), created.id)
      assert.isTrue(created.emailVerified)
    })
  }

  it("admin() listed before fusionAuth(): a banned user's link gets the admin plugin's own refusal of a banned sign-in, 403 BANNED_USER, as without fusion-auth; a deactivated user's is sent to the error callback", async () => {
    await withWorld(makeWorld(held.db.url, { adminFirst: true }), async (w) => {
      const [ada, bo] = [await w.signUp(true), await w.signUp(true)]
      const [banned, deactivated] = [await w.linkFor(ada.email), await w.linkFor(bo.email)]
      await w.pool.query(`update "user" set "banned" = true where "id" = $1`, [ada.userId])
      await w.app.users.deactivate(bo.userId)
      assert.deepInclude(await w.follow(banned), { status: 403, location: null, cookies: [] })
      assert.strictEqual(((await w.follow(await w.linkFor(ada.email))).body as { code?: string }).code, "BANNED_USER")
      assert.deepInclude(await w.follow(deactivated), { status: 302, location: "http://localhost:3000/failed?error=USER_DEACTIVATED&error_description=This+account+is+deactivated.", cookies: [] })
    })
  })

  it("asking for a link while locked out is answered as for an address with no account, and what is mailed opens no session", async () => {
    const w = held.world
    const ada = await w.signUp(true)
    await w.app.users.deactivate(ada.userId)
    const asked = await w.ask(ada.email)
    const nobody = await w.ask(`nobody${++people}@example.com`)
    assert.deepInclude(asked, { status: nobody.status, body: nobody.body })
    assert.deepStrictEqual(asked.body, { status: true })
    // Better Auth mails it (it does not know of the lock-out); the link cannot sign them in.
    assert.isString(asked.link)
    assert.isFalse(opensSession((await w.follow(asked.link!)).cookies))
  })

  it("a new address signs up through its link in a fresh browser: sent to newUserCallbackURL, signed in, the address verified", async () => {
    const w = held.world
    const email = `fresh${++people}@example.com`
    const signedUp = await w.follow(await w.linkFor(email, { callbackURL: "/done", newUserCallbackURL: "/welcome", errorCallbackURL: "/failed" }))
    assert.deepInclude(signedUp, { status: 302, location: "http://localhost:3000/welcome" })
    const created = (await w.pool.query(`select "id", "emailVerified" from "user" where "email" = $1`, [email])).rows[0]
    assert.strictEqual(await w.whoHolds(signedUp.jar), created.id)
    assert.isTrue(created.emailVerified)
  })
})
