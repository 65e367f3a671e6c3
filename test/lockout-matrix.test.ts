/**
 * The lock-out matrix: every state a user or a token can be in, at every door an app exposes,
 * with both credentials, on PGlite and Postgres, with Better Auth's cookie cache off and on.
 *
 * States: deactivated, reactivated; banned, banned until a past time, banned until a future
 * time, unbanned (Better Auth's admin plugin); a parent token revoked, leaked, rotated;
 * impersonating. Doors: fusion-auth's choke point (getSession, requireSession, the Start
 * request middleware, HttpApi `Authentication`), Better Auth's own endpoints and the admin
 * plugin's (over `auth.handler`), the token endpoints, and the CLI. Each cell asserts the
 * answer and, when refused, that no row of the database changed.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { admin, bearer, jwt } from "better-auth/plugins"
import { Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { authLayer } from "../src/effect.ts"
import { Authentication, AuthenticationLayer, CurrentSession } from "../src/http-api.ts"
import { createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { startMiddleware } from "../src/tanstack-start.ts"
import { impersonate, quietOptions } from "./support/auth.ts"
import { fusionAuth as cli } from "./support/cli.ts"
import { sqlBackends, type TestDatabase, testPool } from "./support/databases.ts"

const BASE = "http://localhost:3000"
const PASSWORD = "correct horse battery staple"
const HOUR = 3_600_000

class Me extends HttpApiGroup.make("me")
  .add(HttpApiEndpoint.get("me", "/me", { success: Schema.Struct({ id: Schema.String }) }))
  .middleware(Authentication)
{}
class Api extends HttpApi.make("matrix").add(Me) {}
const MeHandlers = HttpApiBuilder.group(Api, "me", (handlers) =>
  Effect.succeed(handlers.handle("me", () => CurrentSession.use(({ user }) => Effect.succeed({ id: user.id })))))

const makeApp = (url: string, cookieCache: boolean) => {
  const pool = testPool(url)
  const auth = betterAuth({
    ...quietOptions(pool),
    session: { cookieCache: { enabled: cookieCache, maxAge: 300 } },
    plugins: [admin(), bearer(), jwt(), fusionAuth()]
  })
  const tokens = { scopes: ["read"] }
  const session = createAuthSession(auth, { database: { url }, tokens })
  const api = HttpRouter.toWebHandler(
    HttpApiBuilder.layer(Api).pipe(
      Layer.provide(MeHandlers),
      Layer.provide(AuthenticationLayer),
      Layer.provide(authLayer(auth, { database: { url }, tokens })),
      Layer.provide(HttpServer.layerServices)
    ),
    { disableLogger: true }
  )
  return { auth, pool, session, api, start: startMiddleware(() => session) }
}

type App = ReturnType<typeof makeApp>

/** A caller's two credentials as request headers. */
interface Caller {
  readonly cookie: Record<string, string>
  readonly token: Record<string, string>
}

/** What a door answered: passed, or refused with a status and (where the door gives one) a code. */
interface Answer {
  readonly ok: boolean
  readonly status: number
  readonly code?: string | undefined
  /** A credential handed out with the answer: the jwt plugin's `set-auth-jwt`, the bearer plugin's `set-auth-token`. */
  readonly credential?: boolean | undefined
}

const passed = (status = 200): Answer => ({ ok: true, status })

/** Better Auth's answer over `auth.handler`: ok for a 2xx with a body that is not `null`. */
const handled = async (app: App, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> => {
  const response = await app.auth.handler(new Request(`${BASE}/api/auth${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { origin: BASE, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }))
  const json = await response.json().catch(() => undefined) as { code?: string } | null | undefined
  const credential = response.headers.has("set-auth-jwt") || response.headers.has("set-auth-token")
  return { ok: response.ok && json !== null, status: response.status, code: json?.code, credential }
}

/** A thrown Response (requireSession's refusal) as an answer. */
const thrown = async (call: () => Promise<unknown>): Promise<Answer> => {
  try {
    await call()
    return passed()
  } catch (error) {
    if (!(error instanceof Response)) throw error
    const body = await error.clone().json().catch(() => undefined) as { reason?: string } | undefined
    return { ok: false, status: error.status, code: body?.reason }
  }
}

/** One door: what it answers for these headers. `victim` and `bystander` are user ids; spares are token ids. */
interface Door {
  readonly name: string
  readonly kind: "choke" | "better-auth" | "tokens"
  readonly knock: (app: App, headers: Record<string, string>, world: World, credential: "cookie" | "token") => Promise<Answer>
}

interface World {
  readonly victim: string
  readonly bystander: string
  /** Tokens of the victim's for the revoke and rotate doors, one pair per credential (a token is rotated once). */
  readonly spares: Record<"cookie" | "token", { readonly revoke: string; readonly rotate: string }>
}

const doors: ReadonlyArray<Door> = [
  {
    name: "getSession",
    kind: "choke",
    knock: async (app, headers) => ((await app.session.getSession(new Headers(headers))) === null ? { ok: false, status: 401 } : passed())
  },
  {
    name: "requireSession",
    kind: "choke",
    knock: (app, headers) => thrown(() => app.session.requireSession(new Request(`${BASE}/settings`, { headers })))
  },
  {
    name: "Start request middleware",
    kind: "choke",
    knock: async (app, headers) => {
      const middleware = app.start.requireSessionRequestMiddleware as unknown as {
        options: { server: (input: { request: Request; next: (x: unknown) => unknown }) => Promise<unknown> }
      }
      const result = await middleware.options.server({ request: new Request(`${BASE}/api/me`, { headers }), next: () => "next" })
      if (result === "next") return passed()
      const response = result as Response
      return { ok: false, status: response.status, code: ((await response.json()) as { reason?: string }).reason }
    }
  },
  {
    name: "HttpApi Authentication",
    kind: "choke",
    knock: async (app, headers) => {
      const response = await app.api.handler(new Request(`${BASE}/me`, { headers }))
      return response.ok ? passed() : { ok: false, status: response.status, code: ((await response.json()) as { reason?: string }).reason }
    }
  },
  { name: "/get-session", kind: "better-auth", knock: (app, headers) => handled(app, "/get-session", headers) },
  { name: "/update-user", kind: "better-auth", knock: (app, headers) => handled(app, "/update-user", headers, { name: "Changed" }) },
  {
    name: "/change-password",
    kind: "better-auth",
    knock: (app, headers) => handled(app, "/change-password", headers, { currentPassword: PASSWORD, newPassword: PASSWORD })
  },
  { name: "/list-sessions", kind: "better-auth", knock: (app, headers) => handled(app, "/list-sessions", headers) },
  { name: "/token (jwt plugin)", kind: "better-auth", knock: (app, headers) => handled(app, "/token", headers) },
  { name: "/revoke-other-sessions", kind: "better-auth", knock: (app, headers) => handled(app, "/revoke-other-sessions", headers, {}) },
  {
    name: "/admin/update-user (self, reactivate and unban)",
    kind: "better-auth",
    knock: (app, headers, world) =>
      handled(app, "/admin/update-user", headers, { userId: world.victim, data: { deactivatedAt: null, banned: false } })
  },
  {
    name: "/admin/impersonate-user",
    kind: "better-auth",
    knock: (app, headers, world) => handled(app, "/admin/impersonate-user", headers, { userId: world.bystander })
  },
  { name: "/admin/ban-user", kind: "better-auth", knock: (app, headers, world) => handled(app, "/admin/ban-user", headers, { userId: world.bystander }) },
  {
    name: "/admin/create-user",
    kind: "better-auth",
    knock: (app, headers) =>
      handled(app, "/admin/create-user", headers, { email: `made${Math.random().toString(36).slice(2)}@example.com`, password: PASSWORD, name: "Made" })
  },
  { name: "tokens/list", kind: "tokens", knock: (app, headers) => handled(app, "/fusion-auth/tokens/list", headers) },
  { name: "tokens/create", kind: "tokens", knock: (app, headers) => handled(app, "/fusion-auth/tokens/create", headers, { name: "minted" }) },
  {
    name: "tokens/revoke",
    kind: "tokens",
    knock: (app, headers, world, credential) => handled(app, "/fusion-auth/tokens/revoke", headers, { tokenId: world.spares[credential].revoke })
  },
  {
    name: "tokens/rotate",
    kind: "tokens",
    knock: (app, headers, world, credential) => handled(app, "/fusion-auth/tokens/rotate", headers, { tokenId: world.spares[credential].rotate })
  },
  // Last: it ends the cookie's session. Signing out always works, locked out or not.
  { name: "/sign-out", kind: "better-auth", knock: (app, headers) => handled(app, "/sign-out", headers, {}) }
]

/** Every row of every table a door could change (`lastUsedAt` aside: it is written off the request path). */
const snapshot = async (pool: pg.Pool) => {
  const rows = await Promise.all(["user", "session", "account", "apiToken", "fusionAuditEvent"].map((table) =>
    pool.query(`select * from "${table}" order by "id"`).then((r) => r.rows.map(({ lastUsedAt: _, ...row }) => row))
  ))
  return JSON.stringify(rows)
}

type LockState = "deactivated" | "reactivated" | "banned" | "banned until a past time" | "banned until a future time" | "unbanned"
const LOCK_STATES: ReadonlyArray<readonly [LockState, "deactivated" | "banned" | undefined]> = [
  ["deactivated", "deactivated"],
  ["reactivated", undefined],
  ["banned", "banned"],
  ["banned until a past time", undefined],
  ["banned until a future time", "banned"],
  ["unbanned", undefined]
]

/** What a door should answer a credential, for a user locked out for `reason` (or not). */
const expected = (door: Door, credential: "cookie" | "token", reason: "deactivated" | "banned" | undefined): Answer => {
  if (door.name === "/sign-out") return passed()
  if (door.kind === "better-auth" && credential === "token") {
    // Better Auth's own endpoints take no API token: no session, whatever the state.
    return door.name === "/get-session" ? { ok: false, status: 200 } : { ok: false, status: 401 }
  }
  if (reason === undefined) return passed()
  const code = reason === "banned" ? "USER_BANNED" : "USER_DEACTIVATED"
  if (door.name === "/get-session") return { ok: false, status: 200 }
  if (door.kind === "better-auth" || door.kind === "tokens") return { ok: false, status: 401, code }
  if (door.name === "getSession") return { ok: false, status: 401 }
  if (door.name === "requireSession" && credential === "cookie") return { ok: false, status: 302 }
  return { ok: false, status: 401, code: "Deactivated" }
}

let cells = 0

for (const backend of sqlBackends) {
  for (const cookieCache of [false, true]) {
    describe(`the lock-out matrix on ${backend.name}, cookie cache ${cookieCache ? "on" : "off"}`, () => {
      let db: TestDatabase
      let app: App
      let n = 0

      beforeAll(async () => {
        db = await backend.make()
        app = makeApp(db.url, cookieCache)
        await migrate(app.auth, { url: db.url })
      }, 120_000)
      afterAll(async () => {
        await app?.api.dispose()
        await app?.session.dispose()
        await app?.pool.end()
        await db?.close()
      })

      /** A user signed up over HTTP, with a browser cookie; `role` set as the app's admin screen would. */
      const signUp = async (label: string, role = "user") => {
        const email = `${label}${++n}.${backend.name}${cookieCache ? ".cached" : ""}@example.com`
        const response = await app.auth.handler(new Request(`${BASE}/api/auth/sign-up/email`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: BASE },
          body: JSON.stringify({ email, password: PASSWORD, name: label })
        }))
        assert.strictEqual(response.status, 200)
        const { user } = (await response.json()) as { user: { id: string } }
        await app.pool.query(`update "user" set "role" = $1 where "id" = $2`, [role, user.id])
        const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
        return { id: user.id, email, cookie }
      }

      const spares = async (userId: string): Promise<World["spares"]> => {
        const spare = async () => (await app.session.tokens.create({ userId, name: "spare" })).info.id
        return { cookie: { revoke: await spare(), rotate: await spare() }, token: { revoke: await spare(), rotate: await spare() } }
      }

      /** A victim (an admin, so the admin plugin's doors are theirs) with both credentials, a bystander, and spare tokens. */
      const world = async (): Promise<World & Caller & { readonly email: string }> => {
        const victim = await signUp("victim", "admin")
        const bystander = await signUp("bystander")
        const { token } = await app.session.tokens.create({ userId: victim.id, name: "script", scopes: ["read", "tokens:manage"] })
        return {
          victim: victim.id,
          email: victim.email,
          bystander: bystander.id,
          spares: await spares(victim.id),
          cookie: { cookie: victim.cookie },
          token: { authorization: `Bearer ${Redacted.value(token)}` }
        }
      }

      const setState = async (state: LockState, userId: string) => {
        const ban = (until: Date | null) => app.pool.query(`update "user" set "banned" = true, "banExpires" = $1 where "id" = $2`, [until, userId])
        switch (state) {
          case "deactivated":
            return void await app.session.users.deactivate(userId, "admin-1")
          case "reactivated":
            await app.session.users.deactivate(userId, "admin-1")
            return void await app.session.users.reactivate(userId, "admin-1")
          case "banned":
            return void await ban(null)
          case "banned until a past time":
            return void await ban(new Date(Date.now() - HOUR))
          case "banned until a future time":
            return void await ban(new Date(Date.now() + HOUR))
          case "unbanned":
            await ban(null)
            return void await app.pool.query(`update "user" set "banned" = false, "banExpires" = null where "id" = $1`, [userId])
        }
      }

      /** Knocks on every door with each credential; asserts each answer, and that a refusal changed no row. */
      const knockEverywhere = async (
        w: World & Caller,
        credentials: ReadonlyArray<"cookie" | "token">,
        expect: (door: Door, credential: "cookie" | "token") => Answer
      ) => {
        for (const credential of credentials) {
          for (const door of doors) {
            const want = expect(door, credential)
            const before = want.ok ? "" : await snapshot(app.pool)
            const got = await door.knock(app, w[credential], w, credential)
            const label = `${door.name} with the ${credential}`
            assert.strictEqual(got.ok, want.ok, `${label}: ${JSON.stringify(got)}`)
            assert.strictEqual(got.status, want.status, `${label}: ${JSON.stringify(got)}`)
            if (want.code !== undefined) assert.strictEqual(got.code, want.code, label)
            if (!want.ok) assert.notStrictEqual(got.credential, true, `${label}: refused, and no JWT or bearer token handed out`)
            if (!want.ok) assert.strictEqual(await snapshot(app.pool), before, `${label}: refused, and nothing changed`)
            cells++
          }
        }
      }

      for (const [state, reason] of LOCK_STATES) {
        it(`${state}: ${reason === undefined ? "every door opens" : `every door refuses (${reason})`}, for the cookie and the token`, async () => {
          const w = await world()
          await setState(state, w.victim)
          await knockEverywhere(w, ["cookie", "token"], (door, credential) => expected(door, credential, reason))
        })
      }

      it("a locked-out user's session due for refresh: /get-session answers null and the row stays as it was; the choke point refuses without handing it over", async () => {
        const w = await world()
        const token = decodeURIComponent(w.cookie.cookie!.match(/session_token=([^;]+)/)![1]!).split(".")[0]!
        // A week's session with a day's updateAge: due for refresh once less than six days remain.
        await app.pool.query(`update "session" set "expiresAt" = $1 where "token" = $2`, [new Date(Date.now() + 5 * 86_400_000), token])
        await setState("deactivated", w.victim)
        const before = await snapshot(app.pool)
        assert.deepInclude(await handled(app, "/get-session", w.cookie), { ok: false, status: 200, credential: false })
        assert.strictEqual(await snapshot(app.pool), before, "no refresh written")
        const refused = await app.session.resolve(new Headers(w.cookie))
        assert.deepInclude("error" in refused ? refused.error : {}, { _tag: "Deactivated", reason: "deactivated" })
        assert.strictEqual(await snapshot(app.pool), before, "no refresh written")
        await app.session.users.reactivate(w.victim)
        assert.isTrue((await handled(app, "/get-session", w.cookie)).ok, "reactivated, the same cookie is served")
        cells += 2
      })

      it("banned by the admin plugin's own ban-user: the cookie ends (Better Auth deletes the sessions), the token is refused, nothing is minted", async () => {
        const w = await world()
        const judge = await signUp("judge", "admin")
        assert.strictEqual((await handled(app, "/admin/ban-user", { cookie: judge.cookie }, { userId: w.victim, banReason: "spam" })).status, 200)
        const refused = await app.session.resolve(new Headers(w.token))
        assert.deepInclude("error" in refused ? refused.error : {}, { _tag: "Deactivated", credential: "token", reason: "banned" })
        assert.notInclude(JSON.stringify("error" in refused ? refused.error : {}), "spam", "the ban's reason does not travel")
        assert.isNull(await app.session.getSession(new Headers(w.cookie)))
        // Its sessions are deleted; with the cookie cache on, the cached copy must not act either.
        const before = await snapshot(app.pool)
        for (const path of ["/update-user", "/token"]) {
          const got = await handled(app, path, w.cookie, path === "/update-user" ? { name: "while banned" } : undefined)
          assert.deepInclude(got, { ok: false, status: 401 }, path)
          assert.notStrictEqual(got.credential, true, path)
        }
        assert.strictEqual(await snapshot(app.pool), before)
        assert.deepInclude(await handled(app, "/fusion-auth/tokens/create", w.token, { name: "while banned" }), { status: 401, code: "USER_BANNED" })
        assert.strictEqual((await handled(app, "/admin/unban-user", { cookie: judge.cookie }, { userId: w.victim })).status, 200)
        assert.isNotNull(await app.session.getSession(new Headers(w.token)))
      })

      it("the bearer() plugin's session token in Authorization is refused at Better Auth's doors as the cookie is", async () => {
        const w = await world()
        const sessionToken = decodeURIComponent(w.cookie.cookie!.match(/session_token=([^;]+)/)![1]!)
        const asBearer = { authorization: `Bearer ${sessionToken}` }
        assert.isTrue((await handled(app, "/list-sessions", asBearer)).ok, "the bearer plugin serves it")
        await setState("deactivated", w.victim)
        for (const door of doors.filter((d) => d.kind === "better-auth" && d.name !== "/sign-out")) {
          const before = await snapshot(app.pool)
          const got = await door.knock(app, asBearer, w, "cookie")
          const want = expected(door, "cookie", "deactivated")
          assert.deepInclude(got, { ok: want.ok, status: want.status }, door.name)
          if (want.code !== undefined) assert.strictEqual(got.code, want.code, door.name)
          assert.strictEqual(await snapshot(app.pool), before, `${door.name}: nothing changed`)
          cells++
        }
      })

      for (const lineage of ["revoked", "leaked", "rotated"] as const) {
        it(`a parent token ${lineage}: the token it minted is refused at every door`, async () => {
          const w = await world()
          const parentId = (await app.session.tokens.list(w.victim)).find((t) => t.name === "script")!.id
          // The child, minted by the parent through the token endpoint; its plaintext held here.
          const minted = await app.auth.handler(new Request(`${BASE}/api/auth/fusion-auth/tokens/create`, {
            method: "POST",
            headers: { origin: BASE, "content-type": "application/json", ...w.token },
            body: JSON.stringify({ name: "child", scopes: ["read", "tokens:manage"] })
          }))
          assert.strictEqual(minted.status, 200)
          const held = ((await minted.json()) as { token: string }).token
          const parentSecret = w.token.authorization!.slice("Bearer ".length)
          if (lineage === "revoked") await app.session.tokens.revoke(w.victim, parentId)
          if (lineage === "leaked") await app.session.tokens.revokeLeaked(parentSecret, "github-secret-scanning")
          if (lineage === "rotated") await app.session.tokens.rotate({ userId: w.victim, tokenId: parentId })
          const reason = lineage === "rotated" ? "expired" : "revoked"
          await knockEverywhere({ ...w, token: { authorization: `Bearer ${held}` } }, ["token"], (door) =>
            door.kind === "better-auth"
              ? expected(door, "token", undefined)
              : door.kind === "tokens"
              ? { ok: false, status: 401, code: "INVALID_TOKEN" }
              : door.name === "getSession"
              ? { ok: false, status: 401 }
              : { ok: false, status: 401, code: "InvalidToken" })
          const child2 = await app.session.resolve(new Headers({ authorization: `Bearer ${held}` }))
          assert.deepInclude("error" in child2 ? child2.error : {}, { _tag: "InvalidToken", reason })
        })
      }

      it("impersonating: the session acts as the user, but mints and rotates no token; the admin's lock-out ends it", async () => {
        const w = await world()
        /** The browser's cookies while the admin impersonates the bystander. */
        const asAdmin = () => impersonate(app.auth, w.cookie.cookie!, w.bystander, BASE)
        const cookie = await asAdmin()
        const as = { ...w, victim: w.bystander, bystander: w.victim, spares: await spares(w.bystander), cookie: { cookie } }
        await knockEverywhere(as, ["cookie"], (door) =>
          door.name === "tokens/create" || door.name === "tokens/rotate"
            ? { ok: false, status: 403, code: "IMPERSONATION_REFUSED" }
            : door.name.startsWith("/admin/")
            ? { ok: false, status: 403 } // the impersonated user is no admin
            : passed())
        // The admin is deactivated while impersonating: the impersonation ends with their lock-out.
        const again = await asAdmin()
        await app.session.users.deactivate(w.victim)
        const refused = await app.session.resolve(new Headers({ cookie: again }))
        assert.deepInclude("error" in refused ? refused.error : {}, { _tag: "Deactivated", userId: w.victim, reason: "deactivated" })
        assert.deepInclude(await handled(app, "/get-session", { cookie: again }), { ok: false, status: 200 })
        cells += 2
      })

      if (!cookieCache) {
        it("the CLI: users list shows each state by the one rule; tokens create refuses a locked-out user and writes nothing", async () => {
          const env = { DATABASE_URL: db.url, FUSION_AUTH_SCOPES: "read" }
          // A user in each state, then one listing of each form answering for them all.
          const worlds: Array<readonly [...(typeof LOCK_STATES)[number], Awaited<ReturnType<typeof world>>]> = []
          for (const [state, reason] of LOCK_STATES) {
            const w = await world()
            await setState(state, w.victim)
            worlds.push([state, reason, w])
          }
          const [listed, human] = await Promise.all([cli(["--json", "users", "list"], { env }), cli(["users", "list"], { env })])
          assert.strictEqual(listed.code, 0, listed.stderr)
          assert.strictEqual(human.code, 0, human.stderr)
          const rows = JSON.parse(listed.stdout) as ReadonlyArray<{ id: string; lockedOut: string | null }>
          for (const [state, reason, w] of worlds) {
            assert.strictEqual(rows.find((u) => u.id === w.victim)!.lockedOut, reason ?? null, state)
            const line = human.stdout.split("\n").find((l) => l.startsWith(w.victim))!
            assert.match(line, reason === "banned" ? /BANNED/ : reason === "deactivated" ? /DEACTIVATED/ : /active$/, state)
            cells += 2
          }
          for (const [state, reason, w] of worlds) {
            const before = await snapshot(app.pool)
            const created = await cli(["tokens", "create", "--user", w.email, "--name", "ops"], { env })
            if (reason === undefined) {
              assert.strictEqual(created.code, 0, created.stderr)
            } else {
              assert.strictEqual(created.code, 1, state)
              assert.strictEqual(created.stderr.trim(), `fusion-auth: Invalid userId: the user is ${reason}`)
              assert.strictEqual(await snapshot(app.pool), before, `${state}: nothing changed`)
            }
            cells += 1
          }
        }, 180_000)
      }
    })
  }
}

afterAll(() => {
  // The note's figure: how many cells ran in this file.
  process.stdout.write(`lock-out matrix: ${cells} cells\n`)
})
