/**
 * Links Better Auth mails, minted while the user could act and followed after the lock-out, on
 * real Better Auth over PGlite and Postgres. A change of address (`/change-email`, then the
 * link to `/verify-email`) changes a locked-out user's account no more than their cookie could:
 * 401 `USER_DEACTIVATED` / `USER_BANNED`, or with a `callbackURL` the redirect Better Auth makes
 * for its own refusals there (`?error=…`); the address is unchanged, and once the lock-out ends
 * the same link works. Verifying an address (no change) opens no session for them (403, as
 * sign-in), and marks the address verified.
 */
import { assert, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { authRequest, jarAfter, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool, withWorld } from "./support/databases.ts"

let emails = 0

describeOnBackends("links mailed before the lock-out", (url) => makeWorld(url), (held) => {
  it("a change of address whose link is followed after deactivation: 401 and the address unchanged; after reactivation the same link changes it", async () => {
    const { userId, email, jar } = await held.world.signUp()
    const link = await held.world.changeEmail(jar, `moved${++emails}@example.com`)
    await held.world.app.users.deactivate(userId)
    const refused = await held.world.get(link)
    // 401, as a cookie is refused; Better Auth 1.7.0 first opens a session for a link followed without one: 403, as sign-in.
    assert.include([401, 403], refused.status)
    assert.deepInclude(refused, { code: "USER_DEACTIVATED", cookies: [] })
    assert.strictEqual(await held.world.emailOf(userId), email)
    await held.world.app.users.reactivate(userId)
    const followed = await held.world.get(link)
    assert.strictEqual(followed.status, 200)
    assert.strictEqual(await held.world.emailOf(userId), new URL(link).searchParams.get("to"))
  })

  it("followed in the browser still holding the banned user's cookie, with a callbackURL: redirected with ?error=USER_BANNED as Better Auth redirects its own refusals, no cookie, address unchanged; an untrusted callbackURL gets no redirect", async () => {
    const { userId, email, jar } = await held.world.signUp()
    const link = await held.world.changeEmail(jar, `moved${++emails}@example.com`, "/settings?tab=email")
    await held.world.pool.query(`update "user" set "banned" = true where "id" = $1`, [userId])
    const refused = await held.world.get(link, jar)
    assert.deepInclude(refused, { status: 302, location: "/settings?tab=email&error=USER_BANNED", cookies: [] })
    // Better Auth checks a callbackURL's origin after the hooks (and not at all under NODE_ENV=test): the refusal checks it itself.
    const elsewhere = new URL(link)
    elsewhere.searchParams.set("callbackURL", "https://evil.example/x")
    assert.deepInclude(await held.world.get(elsewhere.href, jar), { status: 401, code: "USER_BANNED", location: null, cookies: [] })
    assert.strictEqual(await held.world.emailOf(userId), email)
  })

  it("two steps (sendChangeEmailConfirmation): the first link, followed after deactivation, mails the new address nothing", async () => {
    await withWorld(makeWorld(held.db.url, { confirmation: true }), async (own) => {
      const { userId, jar } = await own.signUp()
      await own.pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [userId])
      const newEmail = `moved${++emails}@example.com`
      const link = await own.changeEmail(jar, newEmail, undefined, "confirm")
      await own.app.users.deactivate(userId)
      assert.deepInclude(await own.get(link), { status: 401, code: "USER_DEACTIVATED", cookies: [] })
      assert.isUndefined(own.mailed.find((mail) => mail.to === newEmail), "no link mailed to the new address")
      await own.app.users.reactivate(userId)
      assert.strictEqual((await own.get(link)).status, 200)
      assert.isDefined(own.mailed.find((mail) => mail.to === newEmail))
    })
  })

  it("a forged or expired link is answered by Better Auth as before, whoever it names", async () => {
    const { userId, jar } = await held.world.signUp()
    const link = new URL(await held.world.changeEmail(jar, `moved${++emails}@example.com`))
    await held.world.app.users.deactivate(userId)
    const [head, payload] = link.searchParams.get("token")!.split(".")
    link.searchParams.set("token", `${head}.${payload}.${"A".repeat(43)}`)
    assert.deepInclude(await held.world.get(link.href), { status: 401, code: "INVALID_TOKEN" })
  })

  it("verifying an address after deactivation opens no session (autoSignInAfterVerification): 403 as sign-in, the address marked verified", async () => {
    const { userId, email } = await held.world.signUp()
    const link = held.world.mailed.find((mail) => mail.to === email)!.url
    await held.world.app.users.deactivate(userId)
    const answer = await held.world.get(link)
    assert.deepStrictEqual(answer.cookies, [])
    assert.deepInclude(answer, { status: 403, code: "USER_DEACTIVATED", cookies: [] }) // as sign-in is refused
    // The address itself is marked verified: the link proves the mailbox and opens nothing.
    assert.isTrue((await held.world.pool.query(`select "emailVerified" from "user" where "id" = $1`, [userId])).rows[0].emailVerified)
  })
})

const makeWorld = async (url: string, options: { readonly confirmation?: boolean } = {}) => {
  const pool = testPool(url, 2)
  const mailed: Array<{ to: string; url: string }> = []
  /** The first step's links (to the current address), with `sendChangeEmailConfirmation`. */
  const confirmations: Array<{ to: string; url: string }> = []
  const auth = betterAuth({
    ...quietOptions(pool),
    emailVerification: {
      sendVerificationEmail: async ({ user, url }) => void mailed.push({ to: user.email, url }),
      sendOnSignUp: true,
      autoSignInAfterVerification: true
    },
    user: {
      changeEmail: {
        enabled: true,
        ...(options.confirmation === true ? { sendChangeEmailConfirmation: async ({ newEmail, url }: { newEmail: string; url: string }) => void confirmations.push({ to: newEmail, url }) } : {})
      }
    },
    plugins: [admin(), fusionAuth()] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = async (request: Request) => {
    const response = await auth.handler(request)
    const text = await response.text()
    const answer = text === "" ? null : (JSON.parse(text) as { code?: string } | null)
    return { status: response.status, code: answer?.code, location: response.headers.get("location"), cookies: response.headers.getSetCookie() }
  }
  const post = (path: string, jar: string, body: unknown) =>
    call(authRequest(path, jar, body))
  /** Follows a mailed link, from a browser with `jar`. */
  const get = (link: string, jar = "") => call(new Request(link, { headers: jar === "" ? {} : { cookie: jar } }))
  const signUp = async () => {
    const email = `links${++emails}@example.com`
    const response = await auth.handler(authRequest("/sign-up/email", "", { email, password: "correct horse battery", name: "Links" }))
    if (response.status !== 200) throw new Error(`sign-up: ${response.status}`)
    return { email, userId: ((await response.json()) as { user: { id: string } }).user.id, jar: jarAfter("", response.headers.getSetCookie()) }
  }
  /** Asks for `newEmail`; the link mailed to it (or the first step's, `confirm`), with `to` added for the test's own reading. */
  const changeEmail = async (jar: string, newEmail: string, callbackURL?: string, step: "verify" | "confirm" = "verify") => {
    const asked = await post("/change-email", jar, { newEmail, ...(callbackURL === undefined ? {} : { callbackURL }) })
    if (asked.status !== 200) throw new Error(`change-email: ${asked.status} ${asked.code}`)
    const link = new URL((step === "confirm" ? confirmations : mailed).find((mail) => mail.to === newEmail)!.url)
    if (callbackURL === undefined) link.searchParams.delete("callbackURL")
    link.searchParams.set("to", newEmail)
    return link.href
  }
  const emailOf = async (userId: string) => (await pool.query(`select "email" from "user" where "id" = $1`, [userId])).rows[0]?.email as string
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, mailed, get, signUp, changeEmail, emailOf, close }
}
