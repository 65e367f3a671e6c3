/**
 * Better Auth's OAuth 2.1 provider (`@better-auth/oauth-provider`) beside fusion-auth, on real
 * Better Auth over PGlite and Postgres: a confidential client gets tokens for a user through
 * the authorization-code flow (PKCE, consent), opaque and JWT access tokens and an
 * `offline_access` refresh token. While the user is locked out (deactivated, banned through
 * the admin plugin's endpoint, or banned by writing the row) none of them serves — userinfo,
 * introspection, the refresh grant, a code issued before — and nothing of theirs is written;
 * the browser's authorize goes to sign in. Once the lock-out ends, the same tokens serve again,
 * and the app's own options on the provider apply throughout.
 */
import { assert, it } from "@effect/vitest"
import { oauthProvider } from "@better-auth/oauth-provider"
import { betterAuth } from "better-auth"
import { admin, jwt } from "better-auth/plugins"
import { createHash, randomBytes } from "node:crypto"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { jarAfter, quietOptions } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

const BASE = "http://localhost:3000"
const AUTH = `${BASE}/api/auth`
const REDIRECT = "https://rp.example/callback"
const USERINFO_RESOURCE = `${AUTH}/oauth2/userinfo`
let people = 0

type Answer = { status: number; body: unknown; location: string | null; cookies: Array<string>; wwwAuthenticate: string | null }

/** The provider as the app configures it: its own three options, which fusion-auth's refusals are composed with. */
const provider = (extra: Record<string, unknown> = {}) =>
  oauthProvider({
    loginPage: "/login",
    consentPage: "/consent",
    customTokenResponseFields: () => ({ team: "blue" }),
    customAccessTokenClaims: () => ({ tier: "gold" }),
    customUserInfoClaims: () => ({ nickname: "Ace" }),
    ...extra
  })

interface WorldOptions {
  /** The provider's plugin object (one another instance shares), else a new one with `provider(extra)`. */
  readonly plugin?: ReturnType<typeof provider>
  readonly extra?: Record<string, unknown>
  /** Without `fusionAuth()`: another app's instance on the same database (migrated by the first). */
  readonly fusion?: boolean
  readonly generateId?: "uuid" | "serial"
}

const makeWorld = async (url: string, options: WorldOptions = {}) => {
  const pool = testPool(url, 2)
  const fusion = options.fusion ?? true
  const plugin = options.plugin ?? provider(options.extra)
  const auth = betterAuth({
    ...quietOptions(pool),
    ...(options.generateId === undefined ? {} : { advanced: { database: { generateId: options.generateId } } }),
    plugins: [admin(), jwt(), plugin, ...(fusion ? [fusionAuth()] : [])] as unknown as [ReturnType<typeof fusionAuth>]
  })
  if (fusion) await migrate(auth, { url })
  const app = fusion ? createAuthSession(auth, { database: { url } }) : undefined

  const answer = async (response: Response): Promise<Answer> => {
    const text = await response.text()
    let body: unknown = text
    try {
      body = text === "" ? null : JSON.parse(text)
    } catch {
      // kept as text
    }
    return {
      status: response.status,
      body,
      location: response.headers.get("location"),
      cookies: response.headers.getSetCookie(),
      wwwAuthenticate: response.headers.get("www-authenticate")
    }
  }
  /** JSON (a POST) or a GET, as a browser with `jar` sends it. */
  const call = async (path: string, jar = "", body?: unknown, headers: Record<string, string> = {}) =>
    answer(
      await auth.handler(
        new Request(`${AUTH}${path}`, {
          method: body === undefined ? "GET" : "POST",
          headers: { origin: BASE, "content-type": "application/json", ...(jar === "" ? {} : { cookie: jar }), ...headers },
          body: body === undefined ? null : JSON.stringify(body)
        })
      )
    )
  /** A client's form post (token, introspect, revoke): no cookie, no origin. */
  const form = async (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    answer(
      await auth.handler(
        new Request(`${AUTH}${path}`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams(fields).toString()
        })
      )
    )

  const signUp = async () => {
    const email = `oauth${++people}@example.com`
    const a = await call("/sign-up/email", "", { email, password: "correct horse battery", name: "Ada" })
    if (a.status !== 200) throw new Error(`sign-up: ${a.status} ${JSON.stringify(a.body)}`)
    return { email, userId: (a.body as { user: { id: string } }).user.id, jar: jarAfter("", a.cookies) }
  }
  const signIn = async (email: string) => call("/sign-in/email", "", { email, password: "correct horse battery" })
  const signUpAdmin = async () => {
    const who = await signUp()
    await pool.query(`update "user" set "role" = 'admin' where "id" = $1`, [who.userId])
    return { ...who, jar: jarAfter("", (await signIn(who.email)).cookies) }
  }

  /** The user who registers the clients (not one who is locked out). */
  let owner: Promise<string> | undefined
  /** A confidential client (client_secret_post), authorization_code + refresh_token, registered by `owner` through `/oauth2/create-client`. */
  const makeClient = async (extra: Record<string, unknown> = {}) => {
    const jar = await (owner ??= signUp().then((who) => who.jar))
    const made = await call("/oauth2/create-client", jar, {
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "client_secret_post",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      scope: "openid profile email offline_access",
      client_name: "Third party",
      ...extra
    })
    if (made.status !== 201) throw new Error(`create-client: ${made.status} ${JSON.stringify(made.body)}`)
    const body = made.body as { client_id: string; client_secret: string }
    return { clientId: body.client_id, clientSecret: body.client_secret }
  }
  type Client = Awaited<ReturnType<typeof makeClient>>

  /** `/oauth2/authorize` with the browser's jar, PKCE S256. */
  const authorize = async (client: Client, jar: string, options: { scope?: string; resource?: string } = {}) => {
    const verifier = randomBytes(32).toString("base64url")
    const challenge = createHash("sha256").update(verifier).digest("base64url")
    const query = new URLSearchParams({
      response_type: "code",
      client_id: client.clientId,
      redirect_uri: REDIRECT,
      scope: options.scope ?? "openid profile email offline_access",
      state: "st",
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...(options.resource === undefined ? {} : { resource: options.resource })
    })
    const a = await call(`/oauth2/authorize?${query}`, jar)
    return { answer: a, verifier }
  }
  /** Authorize, then consent (when asked), to the redirect carrying `code`; `undefined` code when refused. */
  const codeFor = async (client: Client, jar: string, options: { scope?: string; resource?: string } = {}) => {
    const { answer: first, verifier } = await authorize(client, jar, options)
    let location = first.location
    let consent: Answer | undefined
    if (location?.startsWith("/consent?") === true) {
      consent = await call("/oauth2/consent", jar, { accept: true, oauth_query: location.slice("/consent?".length) })
      location = (consent.body as { url?: string } | null)?.url ?? null
    }
    const code = location === null || !location.startsWith(REDIRECT) ? undefined : new URL(location).searchParams.get("code") ?? undefined
    return { code, verifier, first, consent }
  }
  const exchange = (client: Client, code: string, verifier: string) =>
    form("/oauth2/token", {
      grant_type: "authorization_code",
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_id: client.clientId,
      client_secret: client.clientSecret
    })
  const refresh = (client: Client, refreshToken: string) =>
    form("/oauth2/token", { grant_type: "refresh_token", refresh_token: refreshToken, client_id: client.clientId, client_secret: client.clientSecret })
  const introspect = (client: Client, token: string, hint?: "access_token" | "refresh_token") =>
    form("/oauth2/introspect", { token, client_id: client.clientId, client_secret: client.clientSecret, ...(hint === undefined ? {} : { token_type_hint: hint }) })
  const userinfo = (accessToken: string) => call("/oauth2/userinfo", "", undefined, { authorization: `Bearer ${accessToken}` })
  /** A full grant: tokens for the user of `jar`. */
  const grant = async (client: Client, jar: string, options: { scope?: string; resource?: string } = {}) => {
    const { code, verifier, first, consent } = await codeFor(client, jar, options)
    if (code === undefined) throw new Error(`no code: ${JSON.stringify({ first, consent })}`)
    const tokens = await exchange(client, code, verifier)
    if (tokens.status !== 200) throw new Error(`token: ${tokens.status} ${JSON.stringify(tokens.body)}`)
    return tokens.body as { access_token: string; refresh_token?: string; id_token?: string; scope: string }
  }
  const close = async () => {
    await app?.dispose()
    await pool.end()
  }
  return { auth, app: app!, plugin, pool, call, form, signUp, signIn, signUpAdmin, makeClient, authorize, codeFor, exchange, refresh, introspect, userinfo, grant, close }
}

type World = Awaited<ReturnType<typeof makeWorld>>

type LockWay = {
  readonly name: string
  /** Whether the lock-out deletes the user's sessions (the provider then revokes the access tokens bound to them itself). */
  readonly endsSessions: boolean
  lock(world: World, userId: string, adminJar: string): Promise<void>
  unlock(world: World, userId: string, adminJar: string): Promise<void>
}

const ways: ReadonlyArray<LockWay> = [
  {
    name: "deactivated",
    endsSessions: false,
    lock: async (w, userId) => void (await w.app.users.deactivate(userId)),
    unlock: async (w, userId) => void (await w.app.users.reactivate(userId))
  },
  {
    name: "banned through the admin plugin's /admin/ban-user",
    endsSessions: true,
    lock: async (w, userId, adminJar) => assert.strictEqual((await w.call("/admin/ban-user", adminJar, { userId })).status, 200),
    unlock: async (w, userId, adminJar) => assert.strictEqual((await w.call("/admin/unban-user", adminJar, { userId })).status, 200)
  },
  {
    name: "banned by writing the row (sessions kept)",
    endsSessions: false,
    lock: async (w, userId) => void (await w.pool.query(`update "user" set "banned" = true where "id" = $1`, [userId])),
    unlock: async (w, userId) => void (await w.pool.query(`update "user" set "banned" = false where "id" = $1`, [userId]))
  }
]

/** The provider's rows of the user's tokens, as they stand. */
const tokenRows = async (w: World, userId: string) => {
  const access = await w.pool.query(`select * from "oauthAccessToken" where "userId" = $1 order by "id"`, [userId])
  const refresh = await w.pool.query(`select * from "oauthRefreshToken" where "userId" = $1 order by "id"`, [userId])
  return JSON.stringify({ access: access.rows, refresh: refresh.rows })
}

const refusedAsInvalidToken = (answer: Answer) => {
  assert.strictEqual(answer.status, 401, JSON.stringify(answer.body))
  assert.deepInclude(answer.body as object, { error: "invalid_token" })
  assert.match(answer.wwwAuthenticate ?? "", /^Bearer error="invalid_token"/)
  assert.notInclude(JSON.stringify(answer.body), "@example.com")
}

describeOnBackends("Better Auth's OAuth provider for a locked-out user", (url) => makeWorld(url), (held) => {
  it("an active user's grant: userinfo, introspection and refresh serve the client, with the app's own options on the provider applied", async () => {
    const w = held.world
    const client = await w.makeClient()
    const ada = await w.signUp()
    const { code, verifier } = await w.codeFor(client, ada.jar)
    const exchanged = await w.exchange(client, code!, verifier)
    assert.strictEqual(exchanged.status, 200, JSON.stringify(exchanged.body))
    const tokens = exchanged.body as { access_token: string; refresh_token: string; team?: unknown }
    assert.strictEqual(tokens.team, "blue", "the app's customTokenResponseFields")
    const info = await w.userinfo(tokens.access_token)
    assert.deepInclude(info.body as object, { sub: ada.userId, email: ada.email, nickname: "Ace" })
    assert.deepInclude((await w.introspect(client, tokens.access_token, "access_token")).body as object, { active: true, sub: ada.userId, tier: "gold" })
    assert.deepInclude((await w.introspect(client, tokens.refresh_token, "refresh_token")).body as object, { active: true, sub: ada.userId })
    const refreshed = await w.refresh(client, tokens.refresh_token)
    assert.strictEqual(refreshed.status, 200, JSON.stringify(refreshed.body))
    assert.strictEqual((refreshed.body as { team?: unknown }).team, "blue")
    const jwtTokens = await w.grant(client, ada.jar, { resource: USERINFO_RESOURCE })
    assert.strictEqual(jwtTokens.access_token.split(".").length, 3, "a JWT access token")
    assert.deepInclude((await w.userinfo(jwtTokens.access_token)).body as object, { sub: ada.userId, nickname: "Ace" })
    assert.deepInclude((await w.introspect(client, jwtTokens.access_token)).body as object, { active: true, sub: ada.userId })
  })

  it("a locked-out user's browser still ends its session at the provider's /oauth2/end-session, sent back to the client as anyone's", async () => {
    const w = held.world
    const client = await w.makeClient({ post_logout_redirect_uris: ["https://rp.example/bye"] })
    await w.pool.query(`update "oauthClient" set "enableEndSession" = true where "clientId" = $1`, [client.clientId])
    for (const locked of [false, true]) {
      const ada = await w.signUp()
      const tokens = await w.grant(client, ada.jar)
      if (locked) await w.app.users.deactivate(ada.userId)
      const query = new URLSearchParams({ id_token_hint: tokens.id_token!, post_logout_redirect_uri: "https://rp.example/bye", state: "z" })
      const ended = await w.call(`/oauth2/end-session?${query}`, ada.jar, undefined, { accept: "text/html", "sec-fetch-mode": "navigate" })
      assert.strictEqual(ended.location, "https://rp.example/bye?state=z", `locked out: ${locked}; ${JSON.stringify(ended.body)}`)
      assert.strictEqual((await w.pool.query(`select 1 from "session" where "userId" = $1`, [ada.userId])).rowCount, 0, "the session is ended")
    }
  })

  it("where the provider's plugin object is shared with an instance without fusion-auth, that instance answers as the provider alone would", async () => {
    const w = held.world
    const client = await w.makeClient()
    const ada = await w.signUp()
    const tokens = await w.grant(client, ada.jar)
    await w.pool.query(`update "user" set "banned" = true where "id" = $1`, [ada.userId])
    const other = await makeWorld(held.db.url, { plugin: w.plugin, fusion: false })
    try {
      const there = await other.refresh(client, tokens.refresh_token!)
      assert.strictEqual(there.status, 200, JSON.stringify(there.body))
      assert.deepInclude((await other.introspect(client, tokens.access_token)).body as object, { active: true })
      const here = await w.refresh(client, (there.body as { refresh_token: string }).refresh_token)
      assert.deepStrictEqual([here.status, (here.body as { error?: unknown }).error], [400, "invalid_grant"])
      assert.deepStrictEqual((await w.introspect(client, tokens.access_token)).body, { active: false })
    } finally {
      await other.close()
    }
  })

  for (const way of ways) {
    it(`${way.name}: no token the client holds serves, no code issued before is exchanged, the browser is sent to sign in, nothing is written; once it ends the same refresh token serves`, async () => {
      const w = held.world
      const admin = await w.signUpAdmin()
      const client = await w.makeClient()
      const ada = await w.signUp()
      const offline = await w.grant(client, ada.jar)
      const jwtTokens = await w.grant(client, ada.jar, { resource: USERINFO_RESOURCE })
      const pending = await w.codeFor(client, ada.jar)
      assert.isString(offline.refresh_token)
      assert.isString(pending.code)

      await way.lock(w, ada.userId, admin.jar)
      const before = await tokenRows(w, ada.userId)
      refusedAsInvalidToken(await w.userinfo(offline.access_token))
      refusedAsInvalidToken(await w.userinfo(jwtTokens.access_token))
      for (const [token, hint] of [
        [offline.access_token, "access_token"],
        [offline.access_token, undefined],
        [jwtTokens.access_token, "access_token"],
        [jwtTokens.access_token, undefined],
        [offline.refresh_token!, "refresh_token"],
        [offline.refresh_token!, undefined]
      ] as const) {
        const answer = await w.introspect(client, token, hint)
        assert.deepStrictEqual([answer.status, answer.body], [200, { active: false }], `introspection${hint === undefined ? "" : ` (${hint})`}`)
      }
      for (const refreshToken of [offline.refresh_token!, jwtTokens.refresh_token].filter((t) => t !== undefined)) {
        const refused = await w.refresh(client, refreshToken)
        assert.deepStrictEqual([refused.status, (refused.body as { error?: unknown }).error], [400, "invalid_grant"], JSON.stringify(refused.body))
        assert.notProperty(refused.body as object, "access_token")
      }
      const exchanged = await w.exchange(client, pending.code!, pending.verifier)
      assert.strictEqual(exchanged.status, 400, JSON.stringify(exchanged.body))
      assert.notProperty(exchanged.body as object, "access_token")
      // The browser's authorize: sent to sign in (where a locked-out user is refused), or `login_required` without a prompt.
      const authorized = (await w.authorize(client, ada.jar)).answer
      assert.strictEqual(authorized.status, 302, JSON.stringify(authorized.body))
      assert.match(authorized.location ?? "", /^\/login\?/)
      const silent = await w.call(`/oauth2/authorize?${new URLSearchParams({
        response_type: "code", client_id: client.clientId, redirect_uri: REDIRECT, scope: "openid", prompt: "none", state: "s",
        code_challenge: createHash("sha256").update("v".repeat(43)).digest("base64url"), code_challenge_method: "S256"
      })}`, ada.jar)
      assert.strictEqual(new URL(silent.location ?? "http://x/").searchParams.get("error"), "login_required", JSON.stringify(silent))
      assert.strictEqual(await tokenRows(w, ada.userId), before, "a refusal wrote nothing of the user's tokens (no refresh token rotated)")

      await way.unlock(w, ada.userId, admin.jar)
      const refreshed = await w.refresh(client, offline.refresh_token!)
      assert.strictEqual(refreshed.status, 200, JSON.stringify(refreshed.body))
      assert.deepInclude((await w.userinfo((refreshed.body as { access_token: string }).access_token)).body as object, { sub: ada.userId })
      if (!way.endsSessions) {
        // The tokens refused during the lock-out serve again (a ban through the endpoint ended the sessions they were bound to).
        assert.strictEqual((await w.userinfo(offline.access_token)).status, 200)
        assert.strictEqual((await w.userinfo(jwtTokens.access_token)).status, 200)
        assert.deepInclude((await w.introspect(client, jwtTokens.access_token)).body as object, { active: true })
      }
      const jar = way.endsSessions ? jarAfter("", (await w.signIn(ada.email)).cookies) : ada.jar
      assert.isString((await w.codeFor(client, jar)).code, "the browser's authorize gives a code again")
    })
  }
})

describeOnBackends("Better Auth's OAuth provider with pairwise subjects, on uuid ids", (url) => makeWorld(url, { extra: { pairwiseSecret: "p".repeat(40) }, generateId: "uuid" }), (held) => {
  it("an active user's tokens introspect as active for a pairwise client and a public one; once the user is deactivated, every access token and a public client's refresh token introspect inactive, and the refresh grant is refused", async () => {
    const w = held.world
    for (const subjects of ["pairwise", "public"] as const) {
      const client = await w.makeClient()
      // A user's registration gets public subjects; an operator sets pairwise ones.
      await w.pool.query(`update "oauthClient" set "subjectType" = $2 where "clientId" = $1`, [client.clientId, subjects])
      const ada = await w.signUp()
      const opaque = await w.grant(client, ada.jar)
      const jwtTokens = await w.grant(client, ada.jar, { resource: USERINFO_RESOURCE })
      const sub = (await w.userinfo(opaque.access_token)).body as { sub?: string }
      assert.strictEqual(sub.sub === ada.userId, subjects === "public", `the ${subjects} client's sub`)
      for (const [token, hint] of [[opaque.access_token, "access_token"], [jwtTokens.access_token, undefined], [opaque.refresh_token!, "refresh_token"], [opaque.refresh_token!, undefined]] as const) {
        const answer = await w.introspect(client, token, hint)
        assert.deepStrictEqual([answer.status, (answer.body as { active?: unknown }).active], [200, true], `${subjects}: ${JSON.stringify(answer.body)}`)
      }

      await w.app.users.deactivate(ada.userId)
      for (const token of [opaque.access_token, jwtTokens.access_token]) assert.deepStrictEqual((await w.introspect(client, token)).body, { active: false })
      refusedAsInvalidToken(await w.userinfo(opaque.access_token))
      refusedAsInvalidToken(await w.userinfo(jwtTokens.access_token))
      // A pairwise client's answer names the user only by its pairwise sub: it stands (docs/sessions.md), and the token is refused where it would serve.
      if (subjects === "public") assert.deepStrictEqual((await w.introspect(client, opaque.refresh_token!, "refresh_token")).body, { active: false })
      assert.deepStrictEqual([(await w.refresh(client, opaque.refresh_token!)).status], [400])
    }
  })
})
