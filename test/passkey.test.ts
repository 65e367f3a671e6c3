/**
 * Better Auth's passkey plugin (`@better-auth/passkey`) beside fusion-auth, on real Better Auth
 * over PGlite and Postgres (`betterAuthDatabase()`), with a software authenticator (P-256,
 * `none` attestation). A locked-out user's passkey opens no session; a browser that holds their
 * cookie can still sign in with someone else's passkey; a passkey-first app (registration
 * without a session, the user resolved by the app) writes no passkey for a locked-out user.
 * Once the lock-out ends, the same passkeys work.
 */
import { assert, it } from "@effect/vitest"
import { passkey } from "@better-auth/passkey"
import { isoCBOR } from "@simplewebauthn/server/helpers"
import { betterAuth } from "better-auth"
import { admin } from "better-auth/plugins"
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { betterAuthDatabase, createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, opensSession, quietOptions, signUpAs } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

const ORIGIN = "http://localhost:3000"
const root = join(import.meta.dirname, "..")
let people = 0

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  /** What the app's own `afterVerification` saw, and the user it names for the passkey (none: the resolved one). */
  const appSaw: Array<string> = []
  let appNames: string | undefined
  const auth = betterAuth({
    ...quietOptions(betterAuthDatabase({ url })),
    plugins: [
      admin(),
      passkey({
        rpID: "localhost",
        rpName: "fusion-auth test",
        origin: ORIGIN,
        // A passkey-first app: the browser names its user through `context` (an app would check a token there).
        registration: {
          requireSession: false,
          resolveUser: async ({ context }) => ({ id: String(context), name: String(context) }),
          afterVerification: async ({ user }) => {
            appSaw.push(user.id)
            return appNames === undefined ? undefined : { userId: appNames }
          }
        }
      }),
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  const signUp = () => signUpAs(call, `passkey${++people}@example.com`)
  const passkeys = async (userId: string) => (await pool.query(`select "credentialID", "counter" from "passkey" where "userId" = $1`, [userId])).rows
  /** The registration's options, and its verification (`verify`, when the options were given). */
  const registration = async (device: Authenticator, jar: string, context?: string) => {
    const options = await call(`/passkey/generate-register-options${context === undefined ? "" : `?context=${encodeURIComponent(context)}`}`, jar)
    return {
      options,
      verify: () => call("/passkey/verify-registration", options.jar, { response: device.register((options.body as { challenge: string }).challenge), name: "laptop" })
    }
  }
  const register = async (device: Authenticator, jar: string, context?: string) => {
    const { options, verify } = await registration(device, jar, context)
    return options.status === 200 ? verify() : options
  }
  const signIn = async (device: Authenticator, jar = "") => {
    const options = await call("/passkey/generate-authenticate-options", jar)
    if (options.status !== 200) return options
    return call("/passkey/verify-authentication", options.jar, { response: device.assertion((options.body as { challenge: string }).challenge) })
  }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, call, signUp, passkeys, registration, register, signIn, appSaw, names: (userId: string | undefined) => void (appNames = userId), close }
}

type World = Awaited<ReturnType<typeof makeWorld>>

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")
const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest()
const u32 = (n: number) => {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(n)
  return bytes
}

/** A software authenticator: one P-256 credential, `none` attestation, a signature counter. */
const authenticator = () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" })
  const jwk = publicKey.export({ format: "jwk" }) as { x: string; y: string }
  const credentialId = randomBytes(16)
  const rpHash = sha256("localhost")
  let counter = 0
  const cose = isoCBOR.encode(new Map<number, number | Uint8Array>([
    [1, 2], [3, -7], [-1, 1], [-2, new Uint8Array(Buffer.from(jwk.x, "base64url"))], [-3, new Uint8Array(Buffer.from(jwk.y, "base64url"))]
  ]))
  const credential = (response: Record<string, string | Array<string>>) => ({ id: b64url(credentialId), rawId: b64url(credentialId), type: "public-key", response, clientExtensionResults: {} })
  return {
    register: (challenge: string) => {
      const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.create", challenge, origin: ORIGIN, crossOrigin: false }))
      const idLength = Buffer.alloc(2)
      idLength.writeUInt16BE(credentialId.length)
      const authData = Buffer.concat([rpHash, Buffer.from([0x45]), u32(++counter), Buffer.alloc(16), idLength, credentialId, Buffer.from(cose)])
      const attestation = isoCBOR.encode(new Map<string, unknown>([["fmt", "none"], ["attStmt", new Map()], ["authData", new Uint8Array(authData)]]) as never)
      return credential({ clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestation), transports: ["internal"] })
    },
    assertion: (challenge: string) => {
      const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge, origin: ORIGIN, crossOrigin: false }))
      const authenticatorData = Buffer.concat([rpHash, Buffer.from([0x05]), u32(++counter)])
      const signature = sign("sha256", Buffer.concat([authenticatorData, sha256(clientDataJSON)]), privateKey)
      return credential({ clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature) })
    }
  }
}
type Authenticator = ReturnType<typeof authenticator>

/** A user with a passkey registered through their session. */
const withPasskey = async (w: World) => {
  const who = await w.signUp()
  const device = authenticator()
  assert.strictEqual((await w.register(device, who.jar)).status, 200)
  return { ...who, device }
}

describeOnBackends("Better Auth's passkey plugin for a locked-out user", makeWorld, (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: their passkey opens no session; a browser holding their cookie signs in with someone else's passkey; once it ends their passkey signs in`, async () => {
      const w = held.world
      const ada = await withPasskey(w)
      const bo = await withPasskey(w)
      await lock(w, ada.userId)
      const refused = await w.signIn(ada.device)
      assert.strictEqual(refused.status, 403, JSON.stringify(refused.body))
      assert.isFalse(opensSession(refused.cookies))
      // Ada's browser, still holding her cookie, signs Bo in with his passkey.
      const other = await w.signIn(bo.device, ada.jar)
      assert.strictEqual(other.status, 200, JSON.stringify(other.body))
      assert.strictEqual((other.body as { user: { id: string } }).user.id, bo.userId)
      await unlock(w, ada.userId)
      const again = await w.signIn(ada.device)
      assert.strictEqual(again.status, 200, JSON.stringify(again.body))
      assert.isTrue(opensSession(again.cookies))
    })

    it(`${how}: a passkey-first registration for them is refused at its options (no challenge for the browser to make a credential with), at its verification when locked out in between (before the app's afterVerification), and when the app names them; nothing is written; once it ends it registers`, async () => {
      const w = held.world
      const ada = await w.signUp()
      const bo = await w.signUp()
      const begun = await w.registration(authenticator(), "", ada.userId)
      assert.strictEqual(begun.options.status, 200)
      await lock(w, ada.userId)
      const seen = w.appSaw.length
      const refused = await w.registration(authenticator(), "", ada.userId)
      assert.deepStrictEqual([refused.options.status, (refused.options.body as { code?: unknown }).code], [403, code])
      const challenge = (cookies: ReadonlyArray<string>) => cookies.some((c) => /^[^=;]*passkey[^=;]*=[^;]/.test(c))
      assert.deepStrictEqual([challenge(begun.options.cookies), challenge(refused.options.cookies)], [true, false], "no challenge for the refused")
      const late = await begun.verify()
      assert.deepStrictEqual([late.status, (late.body as { code?: unknown }).code], [403, code])
      assert.strictEqual(w.appSaw.length, seen, "the app's afterVerification did not run")
      // Resolved as Bo, but the app's afterVerification names Ada.
      w.names(ada.userId)
      try {
        assert.strictEqual((await w.register(authenticator(), "", bo.userId)).status, 403)
      } finally {
        w.names(undefined)
      }
      assert.deepStrictEqual([await w.passkeys(ada.userId), await w.passkeys(bo.userId)], [[], []])
      await unlock(w, ada.userId)
      assert.strictEqual((await w.register(authenticator(), "", ada.userId)).status, 200)
      assert.lengthOf(await w.passkeys(ada.userId), 1)
    })
  }

  it("with a session, a registration the app's afterVerification names a locked-out user for gets Better Auth's own refusal, which tells nothing of that user", async () => {
    const w = held.world
    const ada = await w.signUp()
    const bo = await w.signUp()
    await w.app.users.deactivate(ada.userId)
    w.names(ada.userId)
    try {
      const answer = await w.register(authenticator(), bo.jar)
      assert.deepStrictEqual([answer.status, (answer.body as { code?: unknown }).code], [401, "YOU_ARE_NOT_ALLOWED_TO_REGISTER_THIS_PASSKEY"])
    } finally {
      w.names(undefined)
    }
    assert.deepStrictEqual([await w.passkeys(ada.userId), await w.passkeys(bo.userId)], [[], []])
  })

  it("@better-auth/passkey installs beside better-auth with no override: the Better Auth packages it resolves are better-auth's own versions", () => {
    const manifestAt = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { version: string; dependencies?: Record<string, string> }
    const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { overrides: Record<string, unknown> }
    assert.notProperty(ours.overrides, "@better-auth/passkey")
    const betterAuth = manifestAt(join(root, "node_modules/better-auth/package.json"))
    const plugin = createRequire(join(root, "node_modules/@better-auth/passkey/package.json"))
    for (const name of ["better-call", "@better-auth/utils", "@better-fetch/fetch"]) {
      const entry = plugin.resolve(name) // its package.json is not exported: the folder the entry is in
      const resolved = manifestAt(join(entry.slice(0, entry.lastIndexOf(`node_modules/${name}/`) + `node_modules/${name}/`.length), "package.json"))
      assert.strictEqual(resolved.version, betterAuth.dependencies?.[name], `${name}: the plugin's, and better-auth's`)
    }
  })

  it("for active users, a passkey-first registration runs the app's afterVerification, and writes the passkey for the user it names", async () => {
    const w = held.world
    const ada = await w.signUp()
    const bo = await w.signUp()
    w.names(bo.userId)
    try {
      const answer = await w.register(authenticator(), "", ada.userId)
      assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
    } finally {
      w.names(undefined)
    }
    assert.include(w.appSaw, ada.userId)
    assert.deepStrictEqual([(await w.passkeys(ada.userId)).length, (await w.passkeys(bo.userId)).length], [0, 1])
  })
})
