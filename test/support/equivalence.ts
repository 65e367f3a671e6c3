/**
 * The equivalence property of the native cookie path, for a Better Auth configuration: over
 * generated states on real Better Auth (PGlite and Postgres), the native path answers exactly
 * what `auth.api.getSession` answers with the cookie cache disabled, at one statement and no
 * write unless a refresh is due. Used by `cookie-equivalence.test.ts` (configurations of
 * Better Auth itself and its built-in plugins, run on 1.7.0 too) and `native-plugins.test.ts`
 * (every plugin the native path stays on with, the packages released apart included).
 *
 * Time is frozen (`Date` only) at T for both sides: Better Auth reads `new Date()`, the
 * native path Effect's `Clock`, which reads `Date.now()`.
 */
import { assert, describe, it } from "@effect/vitest"
import { type BetterAuthPlugin, betterAuth } from "better-auth"
import {
  admin, anonymous, bearer, captcha, deviceAuthorization, emailOTP, genericOAuth, haveIBeenPwned, jwt, lastLoginMethod, magicLink,
  multiSession, oAuthProxy, oauthPopup, oneTap, oneTimeToken, openAPI, organization, phoneNumber, siwe, twoFactor, username
} from "better-auth/plugins"
import { tanstackStartCookies } from "better-auth/tanstack-start"
import { Exit } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, vi } from "vitest"
import { SessionResolver } from "../../src/effect.ts"
import { serialize } from "../../src/core/SignedCookie.ts"
import { createAuthSession, fusionAuth, migrate } from "../../src/index.ts"
import { decide } from "../../src/core/NativeCookie.ts"
import { signUp } from "./auth.ts"
import { testPassword } from "./password.ts"
import { sqlBackends, type TestDatabase, testPool } from "./databases.ts"
import { countStatements, type WireCounter } from "./wire.ts"

const SECRET = "test-secret-test-secret-test-secret-0123"
const EXPIRES_IN = 7 * 24 * 3600
const UPDATE_AGE = 24 * 3600

/** A Better Auth configuration: its options, and the names its tables, columns and cookies get. */
export interface Config {
  readonly name: string
  readonly baseURL: string
  readonly user: { readonly modelName?: string; readonly fields?: Record<string, string> }
  readonly session: { readonly modelName?: string; readonly fields?: Record<string, string> }
  readonly advanced?: Record<string, unknown>
  readonly cookie: string
  readonly dontRemember: string
  readonly numRuns: number
  /** The role a new user gets: the configuration's own field's default (`member`), unless a plugin's (admin's `user`) wins. */
  readonly role?: string
  /** Plugins beside fusion-auth's. */
  readonly plugins?: () => ReadonlyArray<BetterAuthPlugin>
}

const makeAuth = (url: string, config: Config) => {
  const pool = testPool(url)
  const auth = betterAuth({
    database: pool,
    secret: SECRET,
    baseURL: config.baseURL,
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true, password: testPassword },
    ...(config.advanced === undefined ? {} : { advanced: config.advanced }),
    user: {
      ...config.user,
      additionalFields: {
        role: { type: "string", defaultValue: "member", input: false },
        secretNote: { type: "string", required: false, returned: false, input: false }
      }
    },
    session: { ...config.session, additionalFields: { device: { type: "string", required: false, input: false } } },
    plugins: [fusionAuth(), ...(config.plugins?.() ?? [])] as unknown as [ReturnType<typeof fusionAuth>]
  })
  return { auth, pool }
}

const STATES = [
  "valid", "boundary", "expired", "deleted", "userDeleted", "deactivated", "refreshDue", "refreshBoundary",
  "unsignedDontRemember", "forgedDontRemember", "tampered", "wrongSecret", "otherPrefix", "duplicateFirst", "duplicateSecond"
] as const
type State = typeof STATES[number]

const caseOf = fc.record({
  state: fc.constantFrom(...STATES),
  delta: fc.constantFrom(-1, 0, 1),
  dontRemember: fc.boolean()
})

/**
 * The cross product of the states, as fixed examples: every state with and without
 * don't-remember, and each boundary (expiry, refresh) at each side of it; then generated ones.
 */
type Case = { state: State; delta: number; dontRemember: boolean }
const examples: Array<[Case]> = STATES.flatMap((state) =>
  (state === "boundary" || state === "refreshBoundary" ? [-1, 0, 1] : [0]).flatMap((delta) =>
    [true, false].map((dontRemember): [Case] => [{ state, delta, dontRemember }])
  )
)

/** A `dont_remember` cookie Better Auth would not take: unsigned, or with a signature that does not hold. */
const FORGED_DONT_REMEMBER = { unsignedDontRemember: "true", forgedDontRemember: encodeURIComponent(`true.${"A".repeat(43)}=`) }

let emails = 0
const email = () => `eq${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

/** Better Auth's defaults: its names, on a plain http `baseURL`. */
export const DEFAULT_NAMES = {
  baseURL: "http://localhost:3000",
  user: {},
  session: {},
  cookie: "better-auth.session_token",
  dontRemember: "better-auth.dont_remember"
} as const

/**
 * Better Auth's own plugins on the native path's list (`NativeCookie.ALLOWED_PLUGINS`), as apps
 * configure them. Two call out (the password-breach API, the captcha's verifier) on the paths
 * they guard: kept off the sign-up the property makes. The captcha guards `/get-session` too,
 * in `auth.handler` only: the call both sides answer is `auth.api`'s.
 */
export const builtInPlugins = (): ReadonlyArray<BetterAuthPlugin> => [
  admin(),
  organization(),
  twoFactor(),
  username(),
  anonymous(),
  multiSession(),
  jwt(),
  bearer(),
  lastLoginMethod(),
  oneTimeToken(),
  magicLink({ sendMagicLink: async () => undefined }),
  emailOTP({ sendVerificationOTP: async () => undefined }),
  phoneNumber(),
  openAPI(),
  deviceAuthorization(),
  oneTap(),
  siwe({ domain: "localhost:3000", getNonce: async () => "nonce0000000001", verifyMessage: async () => true }),
  oAuthProxy(),
  oauthPopup(),
  genericOAuth({ config: [{ providerId: "corp", clientId: "id", clientSecret: "secret", authorizationUrl: "https://idp.example/authorize", tokenUrl: "https://idp.example/token" }] }),
  haveIBeenPwned({ paths: ["/change-password"] }),
  captcha({ provider: "cloudflare-turnstile", secretKey: "secret", endpoints: ["/get-session", "/sign-in/social"] }),
  tanstackStartCookies()
]

/** The property's suites: one per backend and configuration. */
export const describeEquivalence = (configs: ReadonlyArray<Config>) => {
  for (const backend of sqlBackends) for (const config of configs) {
    const NAME = config.cookie
    const DONT_REMEMBER = config.dontRemember
    const q = (identifier: string) => `"${identifier}"`
    const userTable = q(config.user.modelName ?? "user")
    const sessionTable = q(config.session.modelName ?? "session")
    const userColumn = (key: string) => q(config.user.fields?.[key] ?? key)
    const sessionColumn = (key: string) => q(config.session.fields?.[key] ?? key)
    describe(`native cookie path ≡ Better Auth's getSession on ${backend.name}, ${config.name}`, () => {
      let db: TestDatabase
      let wire: WireCounter
      let setup: ReturnType<typeof makeAuth>
      let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>

      beforeAll(async () => {
        db = await backend.make()
        wire = await countStatements(db.url)
        setup = makeAuth(wire.url, config)
        await migrate(setup.auth, { url: wire.url })
        app = createAuthSession(setup.auth, { database: { url: wire.url } })
      })

      it("the native path is on: every plugin of the configuration is one it answers beside", async () => {
        const context = (await setup.auth.$context) as { version?: string }
        const decision = decide(context, context.version)
        assert.strictEqual(decision._tag, "Native", decision._tag === "HandOver" ? decision.reason : "")
      })
      afterAll(async () => {
        vi.useRealTimers()
        await app.dispose()
        await setup.pool.end()
        await wire.close()
        await db.close()
      })

      it("answers as Better Auth in every generated state", async () => {
        const seen = new Map<string, number>()
        const { userId, cookie: firstCookie } = await signUp(setup.auth as never, email(), config.baseURL)
        const address = (await setup.pool.query(`select ${userColumn("email")} as "email" from ${userTable} where "id" = $1`, [userId])).rows[0].email as string
        await setup.pool.query(`update ${userTable} set "secretNote" = 'hidden' where "id" = $1`, [userId])
        assert.include(firstCookie, NAME)

        await fc.assert(fc.asyncProperty(caseOf, async ({ state, delta, dontRemember: asked }) => {
          vi.useRealTimers()
          // A forged don't-remember cookie rides on a remembered session: it must not stop the refresh.
          const forgedDontRemember = state === "unsignedDontRemember" || state === "forgedDontRemember"
          const dontRemember = asked && !forgedDontRemember
          let owner = userId
          let login = address
          if (state === "userDeleted") {
            login = email()
            owner = (await signUp(setup.auth as never, login, config.baseURL)).userId
          }
          const { headers: signedIn } = await setup.auth.api.signInEmail({
            body: { email: login, password: "correct horse battery", rememberMe: !dontRemember },
            returnHeaders: true
          })
          const jar = new Map(signedIn.getSetCookie().map((c) => c.split(";")[0]!.split(/=(.*)/s).slice(0, 2) as [string, string]))
          const token = decodeURIComponent(jar.get(NAME)!).split(".")[0]!
          await setup.pool.query(`update ${sessionTable} set "device" = 'laptop' where ${sessionColumn("token")} = $1`, [token])
          const T = Date.now() + 1000
          const setExpiry = (at: number) =>
            setup.pool.query(`update ${sessionTable} set ${sessionColumn("expiresAt")} = $1 where ${sessionColumn("token")} = $2`, [new Date(at), token])
          const real = jar.get(NAME)!
          let sessionCookie = `${NAME}=${real}`
          switch (state as State) {
            case "boundary": await setExpiry(T + delta); break
            case "expired": await setExpiry(T - 24 * 3600 * 1000); break
            case "deleted": await setup.pool.query(`delete from ${sessionTable} where ${sessionColumn("token")} = $1`, [token]); break
            case "userDeleted": await setup.pool.query(`delete from ${userTable} where "id" = $1`, [owner]); break
            case "deactivated": await setup.pool.query(`update ${userTable} set "deactivatedAt" = now() where "id" = $1`, [owner]); break
            case "refreshDue": await setExpiry(T + (EXPIRES_IN - UPDATE_AGE) * 1000 - 1000); break
            // Due exactly when expiresAt - expiresIn + updateAge <= now: at the boundary itself, and a millisecond before.
            case "refreshBoundary": await setExpiry(T + (EXPIRES_IN - UPDATE_AGE) * 1000 + delta); break
            case "unsignedDontRemember":
            case "forgedDontRemember":
              await setExpiry(T + (EXPIRES_IN - UPDATE_AGE) * 1000 - 1000)
              jar.set(DONT_REMEMBER, FORGED_DONT_REMEMBER[state as keyof typeof FORGED_DONT_REMEMBER])
              break
            case "tampered": sessionCookie = `${NAME}=${encodeURIComponent(`${token}.${"A".repeat(43)}=`)}`; break
            case "wrongSecret": sessionCookie = `${NAME}=${serialize(token, "another-secret-another-secret-0000")}`; break
            case "otherPrefix": sessionCookie = `${NAME.replace("better-auth", "other-app")}=${real}`; break
            case "duplicateFirst": sessionCookie = `${NAME}=${real}; ${NAME}=${serialize("forged", SECRET)}`; break
            case "duplicateSecond": sessionCookie = `${NAME}=${serialize("forged", SECRET)}; ${NAME}=${real}`; break
          }
          const extra = [...jar].filter(([name]) => name !== NAME).map(([name, value]) => `${name}=${value}`)
          const headers = new Headers({ cookie: [sessionCookie, ...extra].join("; ") })

          vi.useFakeTimers({ toFake: ["Date"], now: T })
          wire.reset()
          const native = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(headers)))
          const cost = [...wire.statements()]
          const ours = await setup.auth.api.getSession({ headers, query: { disableCookieCache: true } })
          vi.useRealTimers()
          if (state === "deactivated") await setup.pool.query(`update ${userTable} set "deactivatedAt" = null where "id" = $1`, [owner])
          const key = state === "boundary" || state === "refreshBoundary" ? `${state} ${delta > 0 ? "+" : ""}${delta} ms` : state
          seen.set(key, (seen.get(key) ?? 0) + 1)

          // What each state must be, so that agreeing on "nothing" cannot pass for agreement.
          const live = ["valid", "refreshDue", "refreshBoundary", "unsignedDontRemember", "forgedDontRemember", "duplicateFirst"].includes(state) ||
            (state === "boundary" && delta >= 0)
          // A locked-out user's live session: Better Auth's /get-session answers null too (the plugin's hook).
          if (state === "deactivated") assert.isNull(ours, key)
          else assert.strictEqual(ours !== null, live, `${key}: Better Auth answered ${ours === null ? "null" : "a session"}`)

          if (state === "deactivated") {
            assert.strictEqual(Exit.isFailure(native) && (Exit.findErrorOption(native) as any).value?._tag, "Deactivated", key)
          } else if (ours === null) {
            assert.isTrue(Exit.isFailure(native), key)
            assert.strictEqual(Exit.isFailure(native) && (Exit.findErrorOption(native) as any).value?._tag, "Anonymous", key)
          } else {
            assert.isTrue(Exit.isSuccess(native), key)
            const value = Exit.isSuccess(native) ? native.value : undefined
            assert.deepStrictEqual(value!.user, ours.user, key)
            assert.deepStrictEqual(value!.session, ours.session, key)
            assert.strictEqual((ours.user as Record<string, unknown>).role, config.role ?? "member")
            assert.notProperty(ours.user, "secretNote")
            assert.strictEqual((ours.session as Record<string, unknown>).device, "laptop")
          }
          // The native path owned the answer (one statement, no write) unless a refresh was due.
          const due = !dontRemember && (state === "refreshDue" || forgedDontRemember || (state === "refreshBoundary" && delta <= 0) ||
            (state === "boundary" && delta >= 0))
          if (due) assert.isTrue(cost.some((s) => s.write), `${key}: the refresh was not handed to Better Auth`)
          else assert.isAtMost(cost.length, 1, `${key}: ${cost.map((s) => s.text.slice(0, 80)).join(" | ")}`)
          assert.isFalse(!due && cost.some((s) => s.write), key)
        }), { numRuns: config.numRuns, examples })

        const total = [...seen.values()].reduce((a, b) => a + b, 0)
        console.info(`cookie equivalence on ${backend.name}, ${config.name}: ${total} cases: ${[...seen].map(([k, n]) => `${k} ${n}`).join(", ")}`)
        assert.isAtLeast(total, config.numRuns)
        for (const state of STATES.filter((s) => s !== "boundary" && s !== "refreshBoundary")) assert.isTrue(seen.has(state), state)
        for (const state of ["boundary", "refreshBoundary"]) {
          for (const key of [`${state} -1 ms`, `${state} 0 ms`, `${state} +1 ms`]) assert.isTrue(seen.has(key), key)
        }
      }, 240_000)
    })
  }
}
