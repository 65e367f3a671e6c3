/**
 * Codes sent to a user's phone or mailbox, verified with no session, on real Better Auth over
 * PGlite and Postgres (`phoneNumber()`, `emailOTP()`). Better Auth answers such a verification
 * with the user's record, and, unless asked not to, a session. For a locked-out user neither is
 * given: 403 `USER_DEACTIVATED` / `USER_BANNED` as sign-in is, no record, no cookie; the user
 * who is not locked out verifies as before. A sign-in with an emailed code, which for an
 * unverified address first strips the user's accounts and sessions, takes nothing from a
 * locked-out user.
 */
import { assert, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, emailOTP, phoneNumber } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { authRequest, jarAfter, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

let people = 0

describeOnBackends("codes verified with no session", (url) => makeWorld(url), (held) => {
  it("a phone's code (disableSession): the user's record for one who is not locked out; 403 and no record for a deactivated one, with or without a session asked for", async () => {
    const ada = await held.world.signUp()
    const phone = `+1555${String(++people).padStart(7, "0")}`
    await held.world.pool.query(`update "user" set "phoneNumber" = $2 where "id" = $1`, [ada.userId, phone])
    const verify = async (disableSession: boolean) => {
      await held.world.post("/phone-number/send-otp", { phoneNumber: phone })
      return held.world.post("/phone-number/verify", { phoneNumber: phone, code: held.world.codes.get(phone)!, disableSession })
    }
    const open = await verify(true)
    assert.strictEqual(open.status, 200)
    assert.strictEqual((open.body as { user: { id: string } }).user.id, ada.userId)
    await held.world.app.users.deactivate(ada.userId)
    for (const disableSession of [true, false]) {
      const refused = await verify(disableSession)
      assert.deepInclude(refused, { status: 403, code: "USER_DEACTIVATED", cookies: [] })
      assert.notProperty(refused.body, "user")
    }
  })

  it("an emailed code (email-otp's verification): 403 and no record for a banned user, from a fresh browser or one holding someone else's session", async () => {
    const bo = await held.world.signUp()
    const other = await held.world.signUp()
    await held.world.pool.query(`update "user" set "banned" = true where "id" = $1`, [bo.userId])
    for (const jar of ["", other.jar]) {
      await held.world.post("/email-otp/send-verification-otp", { email: bo.email, type: "email-verification" })
      const refused = await held.world.post("/email-otp/verify-email", { email: bo.email, otp: held.world.codes.get(bo.email)! }, jar)
      assert.deepInclude(refused, { status: 403, code: "USER_BANNED", cookies: [] })
      assert.notProperty(refused.body, "user")
    }
  })

  it("asking for a sign-in code while locked out is answered as for an address with no account", async () => {
    const w = held.world
    const ada = await w.signUp()
    await w.app.users.deactivate(ada.userId)
    const asked = await w.post("/email-otp/send-verification-otp", { email: ada.email, type: "sign-in" })
    const nobody = await w.post("/email-otp/send-verification-otp", { email: `nobody${++people}@example.com`, type: "sign-in" })
    assert.deepStrictEqual([asked.status, asked.body], [nobody.status, nobody.body])
    assert.strictEqual(asked.status, 200)
  })

  it("an emailed code's sign-in (/sign-in/email-otp) for a locked-out user whose address was never verified: 403, and their password, sessions and unverified address kept; once it ends, the same password and cookie work", async () => {
    const w = held.world
    for (const lock of ["deactivated", "banned"] as const) {
      const ada = await w.signUp() // a password sign-up: the address not verified
      const kept = async () => ({
        accounts: (await w.pool.query(`select "providerId" from "account" where "userId" = $1`, [ada.userId])).rows,
        sessions: (await w.pool.query(`select "token" from "session" where "userId" = $1`, [ada.userId])).rows,
        user: (await w.pool.query(`select "emailVerified" from "user" where "id" = $1`, [ada.userId])).rows
      })
      const before = await kept()
      if (lock === "deactivated") await w.app.users.deactivate(ada.userId)
      else await w.pool.query(`update "user" set "banned" = true where "id" = $1`, [ada.userId])
      await w.post("/email-otp/send-verification-otp", { email: ada.email, type: "sign-in" })
      const refused = await w.post("/sign-in/email-otp", { email: ada.email, otp: w.codes.get(ada.email)! })
      assert.deepInclude(refused, { status: 403, code: lock === "deactivated" ? "USER_DEACTIVATED" : "USER_BANNED", cookies: [] }, lock)
      assert.deepStrictEqual(await kept(), before, `${lock}: Better Auth strips an unverified user's accounts and sessions before the session it opens; not a locked-out user's`)
      if (lock === "deactivated") await w.app.users.reactivate(ada.userId)
      else await w.pool.query(`update "user" set "banned" = false where "id" = $1`, [ada.userId])
      assert.strictEqual((await w.post("/sign-in/email", { email: ada.email, password: "correct horse battery" })).status, 200, `${lock}: the same password`)
      assert.strictEqual((await w.app.getSession(new Headers({ cookie: ada.jar })))?.user.id, ada.userId, `${lock}: the same cookie`)
    }
  })
})

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  /** The last code sent to each phone or address. */
  const codes = new Map<string, string>()
  const auth = betterAuth({
    ...quietOptions(pool),
    plugins: [
      admin(),
      phoneNumber({ sendOTP: async ({ phoneNumber, code }) => void codes.set(phoneNumber, code) }),
      emailOTP({ sendVerificationOTP: async ({ email, otp }) => void codes.set(email, otp) }),
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const post = async (path: string, body: unknown, jar = "") => {
    const response = await auth.handler(authRequest(path, jar, body))
    const answer = (await response.json()) as { code?: string } | null
    return { status: response.status, code: answer?.code, body: answer, cookies: response.headers.getSetCookie() }
  }
  const signUp = async () => {
    const email = `codes${++people}@example.com`
    const answer = await post("/sign-up/email", { email, password: "correct horse battery", name: "Codes" })
    if (answer.status !== 200) throw new Error(`sign-up: ${answer.status}`)
    return { email, userId: (answer.body as unknown as { user: { id: string } }).user.id, jar: jarAfter("", answer.cookies) }
  }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, codes, post, signUp, close }
}
