/**
 * Better Auth's device authorization plugin (`deviceAuthorization()`, RFC 8628: a CLI or a TV
 * signs in by a code the user approves in a browser) beside fusion-auth, on real Better Auth
 * over PGlite and Postgres. A locked-out user's browser can neither claim nor approve a code;
 * a code approved before the lock-out and polled after it opens no session, answered as the
 * protocol answers a refusal (400 `access_denied`, with fusion-auth's code beside it); a token
 * the device got before serves nothing while the lock-out lasts; and once it ends, the device
 * signs in again and its earlier token serves.
 */
import { assert, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, bearer, deviceAuthorization } from "better-auth/plugins"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, quietOptions, signUpAs } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

const GRANT = "urn:ietf:params:oauth:grant-type:device_code"
let people = 0

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  const auth = betterAuth({
    ...quietOptions(pool),
    // No polling interval: the suite polls as fast as it likes (the plugin answers slow_down otherwise).
    plugins: [fusionAuth(), admin(), bearer(), deviceAuthorization({ verificationUri: "/device", interval: "0s" })] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  const signUp = () => signUpAs(call, `device${++people}@example.com`)
  /** A device's request for a code. */
  const code = async () => {
    const asked = await call("/device/code", "", { client_id: "cli" })
    if (asked.status !== 200) throw new Error(`device code: ${asked.status} ${JSON.stringify(asked.body)}`)
    return asked.body as { device_code: string; user_code: string }
  }
  /** The user's browser (`jar`) claims the code at the verification page, then approves it: each answer's status. */
  const approve = async (jar: string, userCode: string) => {
    const claimed = await call(`/device?user_code=${encodeURIComponent(userCode)}`, jar)
    const approved = await call("/device/approve", jar, { userCode })
    return { claimed: claimed.status, approved: approved.status, body: approved.body }
  }
  /** The device's poll: status and body. */
  const poll = async (deviceCode: string) => {
    const answer = await call("/device/token", "", { grant_type: GRANT, device_code: deviceCode, client_id: "cli" })
    return { status: answer.status, body: answer.body as Record<string, unknown> }
  }
  /** Who the choke point finds for the device's token (Better Auth's session token, through `bearer()`). */
  const whoByToken = async (token: string) => (await app.getSession(new Headers({ authorization: `Bearer ${token}` })))?.user.id
  const sessions = async (userId: string) => Number((await pool.query(`select count(*) as n from "session" where "userId" = $1`, [userId])).rows[0].n)
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { auth, app, pool, call, signUp, code, approve, poll, whoByToken, sessions, close }
}

describeOnBackends("Better Auth's device authorization for a locked-out user", (url) => makeWorld(url), (held) => {
  it("an active user: the device gets a token that the choke point serves", async () => {
    const w = held.world
    const ada = await w.signUp()
    const { device_code, user_code } = await w.code()
    assert.deepInclude(await w.approve(ada.jar, user_code), { claimed: 200, approved: 200 })
    const polled = await w.poll(device_code)
    assert.strictEqual(polled.status, 200, JSON.stringify(polled.body))
    assert.strictEqual(await w.whoByToken(String(polled.body.access_token)), ada.userId)
  })

  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: their browser can neither claim nor approve a code (401 ${code}), and the code stays pending for someone else`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const bo = await w.signUp()
      const { device_code, user_code } = await w.code()
      await lock(w, ada.userId)
      const refused = await w.approve(ada.jar, user_code)
      assert.deepInclude(refused, { claimed: 401, approved: 401 })
      assert.strictEqual((refused.body as { code?: string }).code, code)
      assert.deepInclude((await w.poll(device_code)).body, { error: "authorization_pending" })
      assert.deepInclude(await w.approve(bo.jar, user_code), { claimed: 200, approved: 200 })
      assert.strictEqual(await w.whoByToken(String((await w.poll(device_code)).body.access_token)), bo.userId)
      await unlock(w, ada.userId)
    })

    it(`${how}: a code approved before the lock-out and polled after it opens no session, answered 400 access_denied with ${code}; the device's earlier token serves nothing until the lock-out ends, and then the device signs in again`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const first = await w.code()
      await w.approve(ada.jar, first.user_code)
      const earlier = String((await w.poll(first.device_code)).body.access_token)
      const { device_code, user_code } = await w.code()
      assert.deepInclude(await w.approve(ada.jar, user_code), { approved: 200 })
      const sessions = await w.sessions(ada.userId)
      await lock(w, ada.userId)
      const refused = await w.poll(device_code)
      assert.strictEqual(refused.status, 400, JSON.stringify(refused.body))
      assert.deepInclude(refused.body, { error: "access_denied", code })
      assert.match(String(refused.body.error_description), /^This account is (deactivated|banned)\.$/)
      assert.strictEqual(await w.sessions(ada.userId), sessions, "no session opened")
      assert.deepInclude((await w.poll(device_code)).body, { error: "invalid_grant" }, "the code is spent, as the plugin spends any it redeems")
      assert.isUndefined(await w.whoByToken(earlier), "the device's earlier token serves nothing")
      await unlock(w, ada.userId)
      assert.strictEqual(await w.whoByToken(earlier), ada.userId, "and serves again once it ends")
      const again = await w.code()
      await w.approve(ada.jar, again.user_code)
      assert.strictEqual(await w.whoByToken(String((await w.poll(again.device_code)).body.access_token)), ada.userId)
    })
  }
})
