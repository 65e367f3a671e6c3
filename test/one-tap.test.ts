/**
 * Better Auth's one-tap plugin beside fusion-auth, on real Better Auth over PGlite and Postgres.
 * Google's keys are the test's own: `fetch` of Google's certificate URL answers this suite's
 * JWKS, and its ID tokens are signed with the matching RSA key (RS256), so Better Auth's own
 * verification runs as it does against Google. A locked-out user's one-tap opens no session;
 * a browser holding their cookie can still one-tap as someone else; once the lock-out ends,
 * theirs works again.
 */
import { afterAll, assert, beforeAll, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, oneTap } from "better-auth/plugins"
import { createSign, generateKeyPairSync } from "node:crypto"
import { betterAuthDatabase, createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, opensSession, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

const CLIENT_ID = "fusion-auth-test.apps.googleusercontent.com"
const CERTS = "https://www.googleapis.com/oauth2/v3/certs"
const KID = "fusion-auth-test-key"
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
let people = 0

const realFetch = globalThis.fetch
beforeAll(() => {
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url
    if (url !== CERTS) return realFetch(input, init)
    return Response.json({ keys: [{ ...publicKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig" }] })
  }) as typeof fetch
})
afterAll(() => void (globalThis.fetch = realFetch))

/** An ID token Google would sign for `email`. */
const idToken = (email: string, sub: string) => {
  const now = Math.floor(Date.now() / 1000)
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
  const body = `${part({ alg: "RS256", kid: KID, typ: "JWT" })}.${part({
    iss: "https://accounts.google.com", aud: CLIENT_ID, sub, email, email_verified: true, name: "From Google", iat: now, exp: now + 600
  })}`
  return `${body}.${createSign("RSA-SHA256").update(body).sign(privateKey).toString("base64url")}`
}

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  const auth = betterAuth({
    ...quietOptions(betterAuthDatabase({ url })),
    socialProviders: { google: { clientId: CLIENT_ID, clientSecret: "secret" } },
    plugins: [admin(), oneTap(), fusionAuth()] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  /** A one-tap by the browser of `jar`: Google's ID token for `who`. */
  const tap = (who: { email: string; sub: string }, jar = "") => call("/one-tap/callback", jar, { idToken: idToken(who.email, who.sub) })
  const newcomer = async () => {
    const who = { email: `tap${++people}@example.com`, sub: `g${people}` }
    const first = await tap(who)
    assert.strictEqual(first.status, 200, JSON.stringify(first.body))
    return { ...who, userId: (first.body as { user: { id: string } }).user.id, jar: first.jar }
  }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, tap, newcomer, close }
}

describeOnBackends("Better Auth's one-tap for a locked-out user", makeWorld, (held) => {
  for (const [how, { lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: their one-tap opens no session; a browser holding their cookie one-taps as someone else; once it ends theirs works`, async () => {
      const w = held.world
      const ada = await w.newcomer()
      const bo = await w.newcomer()
      await lock(w, ada.userId)
      const refused = await w.tap(ada)
      assert.strictEqual(refused.status, 403, JSON.stringify(refused.body))
      assert.isFalse(opensSession(refused.cookies))
      const other = await w.tap(bo, ada.jar)
      assert.strictEqual(other.status, 200, JSON.stringify(other.body))
      assert.isTrue(opensSession(other.cookies))
      await unlock(w, ada.userId)
      const again = await w.tap(ada)
      assert.strictEqual(again.status, 200, JSON.stringify(again.body))
      assert.isTrue(opensSession(again.cookies))
    })
  }
})
