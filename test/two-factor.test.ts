/**
 * Better Auth's two-factor plugin (`twoFactor()`: an authenticator's TOTP, a mailed OTP, backup
 * codes, trusted devices), on real Better Auth over PGlite and Postgres, for a user locked out
 * three ways: deactivated, banned through the admin plugin's `/admin/ban-user`, and banned by
 * writing the row. Codes are computed from the secret `/two-factor/enable` answers (its
 * `totpURI`) and taken from the plugin's own `sendOTP`.
 *
 * For a locked-out user: signing in is refused (403) with no cookie, not even the `two_factor`
 * challenge; a challenge begun before the lock-out is refused at every factor and at a request
 * for a code, before the plugin spends the challenge, the code or the backup code (403, no
 * session, no `trust_device` cookie, no mail), so once the lock-out ends the same challenge
 * completes with the same code; a backup code's proof with `disableSession` answers no record, a
 * trusted device lets no one in, and their session can neither enable, disable, read nor renew
 * two-factor (401, nothing written). Once the lock-out ends, the same password, factors, trusted
 * device and session work as before. A browser holding a locked-out user's session still signs
 * another user in through two-factor, and the order the plugins are listed in does not matter.
 */
import { assert, it } from "@effect/vitest"
import { base32 } from "@better-auth/utils/base32"
import { createOTP } from "@better-auth/utils/otp"
import { betterAuth } from "better-auth"
import { admin, bearer, twoFactor } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { authRequest, jarAfter, opensSession, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool, withWorld } from "./support/databases.ts"

const PASSWORD = "correct horse battery"
let people = 0

type World = Awaited<ReturnType<typeof makeWorld>>

/** A way a user is locked out and out of it, and the code fusion-auth refuses their session with (`acting`). */
interface Way {
  readonly acting: "USER_DEACTIVATED" | "USER_BANNED"
  /** Whether the lock-out keeps the user's sessions (the admin plugin's ban deletes them). */
  readonly keepsSessions: boolean
  lock(w: World, userId: string): Promise<unknown>
  unlock(w: World, userId: string): Promise<unknown>
}

/** An answer that must be 200 (the admin's ban and unban). */
const ok = async (answer: Promise<{ status: number }>) => assert.strictEqual((await answer).status, 200)

const ways: Record<string, Way> = {
  deactivated: {
    acting: "USER_DEACTIVATED",
    keepsSessions: true,
    lock: (w, id) => w.app.users.deactivate(id),
    unlock: (w, id) => w.app.users.reactivate(id)
  },
  "banned through the admin plugin's /admin/ban-user": {
    acting: "USER_BANNED",
    keepsSessions: false,
    lock: (w, id) => ok(w.call("/admin/ban-user", w.adminJar, { userId: id })),
    unlock: (w, id) => ok(w.call("/admin/unban-user", w.adminJar, { userId: id }))
  },
  "banned by writing the row": {
    acting: "USER_BANNED",
    keepsSessions: true,
    lock: (w, id) => w.pool.query(`update "user" set "banned" = true where "id" = $1`, [id]),
    unlock: (w, id) => w.pool.query(`update "user" set "banned" = false where "id" = $1`, [id])
  }
}

/**
 * The code a new session is refused with: the admin plugin, listed before fusionAuth(), refuses a
 * banned user's itself (`BANNED_USER`); fusion-auth, listed first, with its own.
 */
const openingCode = (w: World, way: Way) => (way.acting === "USER_BANNED" && !w.fusionAuthFirst ? "BANNED_USER" : way.acting)

/** A refused hand-out: 403 with `code`, no `Set-Cookie` line at all, neither a session's token nor the user's record. */
const refusedOpening = (answer: Awaited<ReturnType<World["call"]>>, code: string, what: string) => {
  assert.deepInclude(answer, { status: 403, code, cookies: [] }, what)
  assert.notProperty(answer.body, "token", what)
  assert.notProperty(answer.body, "user", what)
}

describeOnBackends("two-factor", (url) => makeWorld(url), (held) => {
  for (const [name, way] of Object.entries(ways)) {
    it(`${name}: signing in is refused with no cookie, not even the two_factor challenge; once it ends, the password gets the challenge and the TOTP completes it`, async () => {
      const w = held.world
      const ada = await w.enrolled()
      await way.lock(w, ada.userId)
      const pending = await w.pendingRows(ada.userId)
      refusedOpening(await w.call("/sign-in/email", "", { email: ada.email, password: PASSWORD }), openingCode(w, way), "sign-in")
      assert.deepStrictEqual(await w.pendingRows(ada.userId), pending, "no challenge recorded")
      await way.unlock(w, ada.userId)
      const challenge = await w.challenge(ada)
      const done = await w.call("/two-factor/verify-totp", challenge, { code: await ada.totp() })
      assert.strictEqual(done.status, 200)
      assert.isTrue(opensSession(done.cookies))
      assert.strictEqual((await w.app.getSession(new Headers({ cookie: jarAfter(challenge, done.cookies) })))?.user.id, ada.userId)
    })

    it(`${name}: a challenge begun before the lock-out is refused at the TOTP, a mailed OTP, a backup code and a request for a code, trustDevice asked: 403 before anything is spent, no session, no trusted device, no code mailed; once it ends, the same challenge completes with the same code`, async () => {
      const w = held.world
      const ada = await w.enrolled()
      const backupCode = ada.backupCodes.shift()!
      const factors = {
        totp: async (jar: string) => w.call("/two-factor/verify-totp", jar, { code: await ada.totp(), trustDevice: true }),
        otp: async (jar: string) => w.call("/two-factor/verify-otp", jar, { code: w.mailed.get(ada.userId), trustDevice: true }),
        "backup code": async (jar: string) => w.call("/two-factor/verify-backup-code", jar, { code: backupCode, trustDevice: true })
      }
      for (const [factor, verify] of Object.entries(factors)) {
        const challenge = await w.challenge(ada)
        w.mailed.delete(ada.userId)
        if (factor === "otp") assert.strictEqual((await w.call("/two-factor/send-otp", challenge, {})).status, 200)
        const mailed = w.mailed.get(ada.userId)
        await way.lock(w, ada.userId)
        const before = await w.rowsOf([ada.userId])
        refusedOpening(await w.call("/two-factor/send-otp", challenge, {}), way.acting, `${factor}: a code asked for`)
        refusedOpening(await verify(challenge), way.acting, factor)
        assert.deepStrictEqual(await w.rowsOf([ada.userId]), before, `${factor}: the challenge, its code, the backup codes kept; no session, no device trusted`)
        assert.strictEqual(w.mailed.get(ada.userId), mailed, `${factor}: no code mailed`)
        await way.unlock(w, ada.userId)
        const done = await verify(challenge)
        assert.strictEqual(done.status, 200, `${factor}: ${JSON.stringify(done.body)}`)
        assert.strictEqual((done.body as { user: { id: string } }).user.id, ada.userId)
        assert.isTrue(opensSession(done.cookies), factor)
        assert.isTrue(done.cookies.some((cookie) => /^better-auth\.trust_device=[^;]/.test(cookie)), `${factor}: the device trusted`)
      }
    })

    it(`${name}: a backup code's proof that answers the user's record (disableSession) answers none, with no cookie; once it ends, the same challenge and code answer the record`, async () => {
      const w = held.world
      const ada = await w.enrolled()
      const [challenge, code] = [await w.challenge(ada), ada.backupCodes.shift()!]
      await way.lock(w, ada.userId)
      refusedOpening(await w.call("/two-factor/verify-backup-code", challenge, { code, disableSession: true }), way.acting, "disableSession")
      await way.unlock(w, ada.userId)
      const proof = await w.call("/two-factor/verify-backup-code", challenge, { code, disableSession: true })
      assert.strictEqual(proof.status, 200)
      assert.strictEqual((proof.body as { user: { id: string } }).user.id, ada.userId)
      assert.isFalse(opensSession(proof.cookies))
    })

    it(`${name}: a trusted device lets no locked-out user in (403, no cookie, the device's trust neither renewed nor dropped); once it ends, the device signs in without a second factor`, async () => {
      const w = held.world
      const ada = await w.enrolled()
      const challenge = await w.challenge(ada)
      const trusting = await w.call("/two-factor/verify-totp", challenge, { code: await ada.totp(), trustDevice: true })
      assert.strictEqual(trusting.status, 200)
      const device = jarAfter(challenge, trusting.cookies)
      const trustCookie = device.match(/better-auth\.trust_device=([^;]+)/)![1]!
      await way.lock(w, ada.userId)
      const trusted = await w.trustRows(ada.userId)
      refusedOpening(await w.call("/sign-in/email", device, { email: ada.email, password: PASSWORD }), openingCode(w, way), "trusted sign-in")
      assert.deepStrictEqual(await w.trustRows(ada.userId), trusted)
      await way.unlock(w, ada.userId)
      const again = await w.call("/sign-in/email", device, { email: ada.email, password: PASSWORD })
      assert.strictEqual(again.status, 200)
      assert.notProperty(again.body, "twoFactorRedirect")
      assert.isTrue(opensSession(again.cookies))
      assert.isFalse(again.cookies.some((cookie) => cookie.startsWith("better-auth.two_factor=")))
      const renewed = again.cookies.find((cookie) => cookie.startsWith("better-auth.trust_device="))
      assert.isDefined(renewed, "Better Auth renews a trusted device's cookie at each sign-in")
      assert.notInclude(renewed!, trustCookie)
    })
  }

  for (const [name, way] of Object.entries(ways).filter(([, way]) => way.keepsSessions)) {
    it(`${name}: the user's session can neither enable, finish enabling, disable, read the TOTP URI of, renew the backup codes of, nor verify two-factor (401, nothing written, no code mailed); once it ends, the same session can`, async () => {
      const w = held.world
      const on = await w.enrolled()
      // Enabling begun, the TOTP not yet verified: a twoFactor row with `verified = false`.
      const setting = await w.signUp()
      const begun = await w.call("/two-factor/enable", setting.jar, { password: PASSWORD })
      assert.strictEqual(begun.status, 200)
      const settingTotp = totpOf((begun.body as { totpURI: string }).totpURI)
      const users = [on.userId, setting.userId]
      for (const userId of users) await way.lock(w, userId)
      const before = await w.rowsOf(users)
      w.mailed.clear()
      const knocks: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
        [on.jar, "/two-factor/get-totp-uri", { password: PASSWORD }],
        [on.jar, "/two-factor/generate-backup-codes", { password: PASSWORD }],
        [on.jar, "/two-factor/disable", { password: PASSWORD }],
        [on.jar, "/two-factor/enable", { password: PASSWORD, method: "otp" }],
        [on.jar, "/two-factor/send-otp", {}],
        [on.jar, "/two-factor/verify-otp", { code: "000000" }],
        [on.jar, "/two-factor/verify-totp", { code: await on.totp() }],
        [on.jar, "/two-factor/verify-backup-code", { code: on.backupCodes[0]!, disableSession: true }],
        [setting.jar, "/two-factor/verify-totp", { code: await settingTotp() }],
        [setting.jar, "/two-factor/enable", { password: PASSWORD }],
        [setting.jar, "/two-factor/enable", { password: PASSWORD, method: "otp" }]
      ]
      for (const [jar, path, body] of knocks) {
        assert.deepInclude(await w.call(path, jar, body), { status: 401, code: way.acting, cookies: [] }, path)
      }
      assert.deepStrictEqual(await w.rowsOf(users), before, "no row written")
      assert.strictEqual(w.mailed.size, 0, "no code mailed")
      for (const userId of users) await way.unlock(w, userId)
      const uri = await w.call("/two-factor/get-totp-uri", on.jar, { password: PASSWORD })
      assert.strictEqual(uri.status, 200)
      assert.strictEqual((uri.body as { totpURI: string }).totpURI, on.totpURI)
      const finished = await w.call("/two-factor/verify-totp", setting.jar, { code: await settingTotp() })
      assert.strictEqual(finished.status, 200)
      assert.isTrue(opensSession(finished.cookies), "Better Auth replaces the session once two-factor is on")
      assert.deepStrictEqual((await w.pool.query(`select "twoFactorEnabled" from "user" where "id" = $1`, [setting.userId])).rows, [{ twoFactorEnabled: true }])
    })
  }

  it("a challenge sent beside a session Better Auth would not honour — another user's expired one, or their token under a forged signature (bearer()) — is judged as if alone: refused, nothing spent; once the lock-out ends it completes", async () => {
    const w = held.world
    const [ada, bo] = [await w.enrolled(), await w.signUp()]
    const boToken = decodeURIComponent(bo.jar.match(/better-auth\.session_token=([^;]+)/)![1]!)
    const expired = await w.signUp()
    await w.pool.query(`update "session" set "expiresAt" = now() - interval '1 minute' where "userId" = $1`, [expired.userId])
    const backupCode = ada.backupCodes.shift()!
    const challenge = await w.challenge(ada)
    await w.app.users.deactivate(ada.userId)
    const before = await w.rowsOf([ada.userId])
    w.mailed.clear()
    const beside: ReadonlyArray<readonly [string, string, Record<string, string>]> = [
      ["an expired session's cookie", `${challenge}; ${expired.jar}`, {}],
      ["a token under a forged signature", challenge, { authorization: `Bearer ${boToken.split(".")[0]}.forged` }]
    ]
    for (const [what, jar, headers] of beside) {
      refusedOpening(await w.call("/two-factor/send-otp", jar, {}, headers), "USER_DEACTIVATED", `${what}: a code asked for`)
      refusedOpening(await w.call("/two-factor/verify-backup-code", jar, { code: backupCode }, headers), "USER_DEACTIVATED", what)
    }
    assert.deepStrictEqual(await w.rowsOf([ada.userId]), before, "the challenge and the backup code kept")
    assert.strictEqual(w.mailed.size, 0, "no code mailed")
    await w.app.users.reactivate(ada.userId)
    assert.strictEqual((await w.call("/two-factor/verify-backup-code", challenge, { code: backupCode })).status, 200)
  })

  it("a browser holding a locked-out user's session signs another user in through two-factor", async () => {
    const w = held.world
    const ada = await w.enrolled()
    const bo = await w.enrolled()
    await w.app.users.deactivate(ada.userId)
    const challenge = await w.challenge(bo, ada.jar)
    const done = await w.call("/two-factor/verify-totp", challenge, { code: await bo.totp() })
    assert.strictEqual(done.status, 200)
    assert.strictEqual((await w.app.getSession(new Headers({ cookie: jarAfter(challenge, done.cookies) })))?.user.id, bo.userId)
  })

  it("fusionAuth() listed before admin() and twoFactor(): a challenge begun before a ban and a trusted device are refused alike (fusion-auth's USER_BANNED), and work once it ends", async () => {
    await withWorld(makeWorld(held.db.url, { fusionAuthFirst: true }), async (w) => {
      const way = ways["banned by writing the row"]!
      const ada = await w.enrolled()
      const challenge = await w.challenge(ada)
      const trusting = await w.call("/two-factor/verify-totp", challenge, { code: await ada.totp(), trustDevice: true })
      const device = jarAfter(challenge, trusting.cookies)
      const pending = await w.challenge(ada)
      await way.lock(w, ada.userId)
      refusedOpening(await w.call("/two-factor/verify-totp", pending, { code: await ada.totp(), trustDevice: true }), "USER_BANNED", "challenge")
      refusedOpening(await w.call("/sign-in/email", device, { email: ada.email, password: PASSWORD }), "USER_BANNED", "trusted device")
      await way.unlock(w, ada.userId)
      const again = await w.call("/sign-in/email", device, { email: ada.email, password: PASSWORD })
      assert.strictEqual(again.status, 200)
      assert.isTrue(opensSession(again.cookies))
    })
  })
})

/** The TOTP of the authenticator set up with `totpURI` (its secret is the base32 of the bytes Better Auth signs with), now. */
const totpOf = (totpURI: string) => {
  const secret = new TextDecoder().decode(base32.decode(new URL(totpURI).searchParams.get("secret")!))
  return () => createOTP(secret).totp()
}

/**
 * Better Auth with `admin()` (for its ban; an admin signed in as `adminJar`) and `twoFactor()`
 * (OTPs mailed to `mailed`, by user id), fusion-auth after them or, with `fusionAuthFirst`, before.
 */
const makeWorld = async (url: string, options: { readonly fusionAuthFirst?: boolean } = {}) => {
  const pool = testPool(url, 2)
  /** The last OTP mailed to each user. */
  const mailed = new Map<string, string>()
  const others = [admin(), bearer(), twoFactor({ otpOptions: { sendOTP: async ({ user, otp }) => void mailed.set(user.id, otp) } })]
  const auth = betterAuth({
    ...quietOptions(pool),
    plugins: (options.fusionAuthFirst === true ? [fusionAuth(), ...others] : [...others, fusionAuth()]) as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  /** Better Auth's endpoint `path` with the browser's `jar` (a POST when there is a body): status, code, body, `Set-Cookie` lines. */
  const call = async (path: string, jar: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await auth.handler(authRequest(path, jar, body, headers))
    const text = await response.text()
    const answer = (text === "" ? null : JSON.parse(text)) as { code?: string } | null
    return { status: response.status, code: answer?.code, body: answer, cookies: response.headers.getSetCookie() }
  }
  const signUp = async () => {
    const email = `second${++people}@example.com`
    const answer = await call("/sign-up/email", "", { email, password: PASSWORD, name: "Second" })
    if (answer.status !== 200) throw new Error(`sign-up: ${answer.status}`)
    return { email, userId: (answer.body as unknown as { user: { id: string } }).user.id, jar: jarAfter("", answer.cookies) }
  }
  /** A user with two-factor on (enabled, the TOTP verified): their session, TOTP, unused backup codes. */
  const enrolled = async () => {
    const user = await signUp()
    const enabled = await call("/two-factor/enable", user.jar, { password: PASSWORD })
    if (enabled.status !== 200) throw new Error(`enable: ${enabled.status}`)
    const { totpURI, backupCodes } = enabled.body as unknown as { totpURI: string; backupCodes: Array<string> }
    const totp = totpOf(totpURI)
    const verified = await call("/two-factor/verify-totp", user.jar, { code: await totp() })
    if (verified.status !== 200) throw new Error(`verify-totp: ${verified.status}`)
    return { ...user, jar: jarAfter(user.jar, verified.cookies), totpURI, totp, backupCodes }
  }
  /** Signs `user` in with their password in the browser holding `jar`: the challenge's jar (the `two_factor` cookie). */
  const challenge = async (user: { readonly email: string }, jar = "") => {
    const answer = await call("/sign-in/email", jar, { email: user.email, password: PASSWORD })
    if (answer.status !== 200 || (answer.body as { twoFactorRedirect?: boolean }).twoFactorRedirect !== true) {
      throw new Error(`sign-in: ${answer.status} ${JSON.stringify(answer.body)}`)
    }
    return jarAfter(jar, answer.cookies)
  }
  const rows = async (text: string, values: ReadonlyArray<unknown>) => (await pool.query(text, [...values])).rows
  const sessionRows = (userId: string) => rows(`select "id", "token", "expiresAt" from "session" where "userId" = $1 order by "id"`, [userId])
  const trustRows = (userId: string) =>
    rows(`select "identifier", "expiresAt" from "verification" where "value" = $1 and "identifier" like 'trust-device-%' order by "identifier"`, [userId])
  /** The user's pending challenges (`2fa-…`, whose value is the user's id). */
  const pendingRows = (userId: string) => rows(`select "identifier" from "verification" where "value" = $1 and "identifier" like '2fa-%' order by "identifier"`, [userId])
  /** Everything two-factor keeps of `userIds`: their twoFactor rows, `twoFactorEnabled`, sessions, verifications. */
  const rowsOf = async (userIds: ReadonlyArray<string>) => ({
    twoFactor: await rows(`select * from "twoFactor" where "userId" = any($1) order by "userId"`, [userIds]),
    users: await rows(`select "id", "twoFactorEnabled" from "user" where "id" = any($1) order by "id"`, [userIds]),
    sessions: await rows(`select "id", "token", "expiresAt" from "session" where "userId" = any($1) order by "id"`, [userIds]),
    verifications: await rows(`select "identifier", "value" from "verification" order by "identifier"`, [])
  })
  const adminUser = await signUp()
  await pool.query(`update "user" set "role" = 'admin' where "id" = $1`, [adminUser.userId])
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return {
    app,
    pool,
    mailed,
    adminJar: adminUser.jar,
    fusionAuthFirst: options.fusionAuthFirst === true,
    call,
    signUp,
    enrolled,
    challenge,
    sessionRows,
    trustRows,
    pendingRows,
    rowsOf,
    close
  }
}
