/**
 * Better Auth's SCIM plugin (`@better-auth/scim`) beside fusion-auth, on real Better Auth over
 * PGlite and Postgres through `betterAuthDatabase()` with transactions on (as the docs give it:
 * the plugin requires them). The directory's calls reach `auth.handler` as an identity
 * provider sends them, with the connection's bearer token. When the directory has a user
 * inactive (a PATCH or PUT with `active: false`, or the SCIM user deleted), the plugin deletes
 * their sessions, and fusion-auth locks them out as a deactivation does: their API tokens, a new
 * password sign-in and Better Auth's endpoints are refused on the next request; `active: true`
 * lets them back in. The directory's word and the app's deactivation are kept apart: neither
 * lifts the other. The write is the plugin's own transaction's: a reconciliation the app's
 * callback fails writes nothing.
 */
import { assert, it } from "@effect/vitest"
import { scim } from "@better-auth/scim"
import { betterAuth } from "better-auth"
import { Redacted } from "effect"
import { betterAuthDatabase, createAuthSession, Deactivated, fusionAuth, migrate } from "../src/index.ts"
import { userLine } from "../src/cli/Lines.ts"
import { decide } from "../src/core/NativeCookie.ts"
import { migrateWith } from "../src/runtime/migrate.ts"
import { browserOf, opensSession, quietOptions, signUpAs } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

const PASSWORD = "correct horse battery"
const SCIM_TOKEN = "scim-connection-secret-0123456789abcdef"
const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
const PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
let people = 0

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  /** Users the app links to an existing account by address (the app's own `identity.resolveUser`, as an app adopting SCIM has). */
  const linkByEmail = new Map<string, string>()
  /** The app's own reconciliation: each state it was told, and whether it refuses the next. */
  const told: Array<{ userId: string; active: boolean; deprovisioned: boolean }> = []
  const failNext = { on: false }
  const auth = betterAuth({
    // As docs/sessions.md#scim gives it: fusion-auth's database option, with the transactions the plugin requires.
    ...quietOptions({ ...betterAuthDatabase({ url }), transaction: true }),
    plugins: [
      fusionAuth(),
      scim({
        connections: [{ id: "okta", credentials: [{ type: "bearer", id: "okta-1", token: SCIM_TOKEN }] }],
        identity: {
          resolveUser: (input) => {
            const userId = linkByEmail.get(input.resource.userName)
            return userId === undefined ? { action: "create" } : { action: "link", userId, profile: "preserve" }
          },
          reconcileUser: async (state, { database }) => {
            // What the app's callback reads in the transaction: fusion-auth's write is already there.
            const user = await database.findOne<{ deprovisionedAt?: unknown }>({ model: "user", where: [{ field: "id", value: state.userId }] })
            told.push({ userId: state.userId, active: state.active, deprovisioned: user?.deprovisionedAt != null })
            if (failNext.on) {
              failNext.on = false
              throw new Error("the app's reconciliation failed")
            }
          }
        }
      })
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  /** The directory's call to `/scim/v2{path}`: status and JSON body. */
  const directory = async (method: string, path: string, body?: unknown) => {
    const response = await auth.handler(new Request(`http://localhost:3000/api/auth/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${SCIM_TOKEN}`, "content-type": "application/scim+json", accept: "application/scim+json" },
      body: body === undefined ? null : JSON.stringify(body)
    }))
    const text = await response.text()
    return { status: response.status, body: text === "" ? null : (JSON.parse(text) as Record<string, unknown>) }
  }
  /** A user who signed up with a password (a cookie) and made an API token, then provisioned by the directory (linked): their SCIM id. */
  const provisioned = async () => {
    const who = await signUpAs(call, `scim${++people}@corp.example`)
    linkByEmail.set(who.email, who.userId)
    const created = await directory("POST", "/Users", {
      schemas: [USER_SCHEMA],
      userName: who.email,
      externalId: `ext-${people}`,
      emails: [{ value: who.email, primary: true }],
      active: true
    })
    if (created.status !== 201) throw new Error(`SCIM create failed: ${created.status} ${JSON.stringify(created.body)}`)
    const { token } = await app.tokens.create({ userId: who.userId, name: "script" })
    return { ...who, scimId: String(created.body!.id), token: Redacted.value(token) }
  }
  const setActive = (scimId: string, active: boolean) =>
    directory("PATCH", `/Users/${scimId}`, { schemas: [PATCH_SCHEMA], Operations: [{ op: "replace", path: "active", value: active }] })
  /** What the choke point answers for a token: the user's id, or the error's tag and reason. */
  const byToken = async (token: string) => {
    const answer = await app.resolve(new Headers({ authorization: `Bearer ${token}` }))
    return "session" in answer ? answer.session.user.id : `${answer.error._tag} ${(answer.error as Deactivated).reason ?? ""}`.trim()
  }
  const signIn = (email: string) => call("/sign-in/email", "", { email, password: PASSWORD })
  const row = async (userId: string) =>
    (await pool.query(`select "deactivatedAt", "deprovisionedAt" from "user" where "id" = $1`, [userId])).rows[0] as {
      deactivatedAt: Date | null
      deprovisionedAt: Date | null
    }
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { auth, app, pool, call, directory, provisioned, setActive, byToken, signIn, row, told, failNext, close }
}

describeOnBackends("Better Auth's SCIM plugin: the directory's active: false", (url) => makeWorld(url), (held) => {
  it("locks the user out at every door on the next request (their token, a new password sign-in, Better Auth's endpoints); the app's own reconciliation still runs; active: true lets them back in", async () => {
    const w = held.world
    const ada = await w.provisioned()
    assert.strictEqual(await w.byToken(ada.token), ada.userId)
    assert.strictEqual((await w.app.getSession(new Headers({ cookie: ada.jar })))?.user.id, ada.userId)

    const off = await w.setActive(ada.scimId, false)
    assert.strictEqual(off.status, 200, JSON.stringify(off.body))
    assert.deepStrictEqual(w.told.at(-1), { userId: ada.userId, active: false, deprovisioned: true }, "the app's identity.reconcileUser runs after fusion-auth's write, in the same transaction")
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated", "the token is refused")
    assert.isNull(await w.app.getSession(new Headers({ authorization: `Bearer ${ada.token}` })))
    assert.isNull(await w.app.getSession(new Headers({ cookie: ada.jar })))
    const sessions = await w.pool.query(`select count(*)::int as n from "session" where "userId" = $1`, [ada.userId])
    assert.strictEqual(sessions.rows[0].n, 0, "the plugin deleted the sessions, as it does by itself")
    const signIn = await w.signIn(ada.email)
    assert.deepInclude(signIn, { status: 403 })
    assert.strictEqual((signIn.body as { code?: string }).code, "USER_DEACTIVATED")
    assert.isFalse(opensSession(signIn.cookies), "a new password sign-in opens no session")
    const minted = await w.auth.handler(new Request("http://localhost:3000/api/auth/fusion-auth/tokens/create", {
      method: "POST",
      headers: { authorization: `Bearer ${ada.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "child" })
    }))
    assert.strictEqual(minted.status, 401, "the token mints nothing")
    assert.strictEqual(((await minted.json()) as { code?: string }).code, "USER_DEACTIVATED")
    assert.isNotNull((await w.row(ada.userId)).deprovisionedAt)
    assert.isNull((await w.row(ada.userId)).deactivatedAt, "the app's own deactivation is not touched")
    assert.includeMembers((await w.app.users.list({ deactivated: true })).map((u) => u.id), [ada.userId])
    assert.notInclude((await w.app.users.list({ deactivated: false })).map((u) => u.id), ada.userId)
    const [line] = (await w.app.users.list({ deactivated: true })).filter((u) => u.id === ada.userId).map(userLine)
    assert.match(line!, /DEACTIVATED BY THE DIRECTORY \(SCIM\) \d{4}-/)
    assert.notMatch(line!, /1970/)

    const on = await w.setActive(ada.scimId, true)
    assert.strictEqual(on.status, 200, JSON.stringify(on.body))
    assert.strictEqual(await w.byToken(ada.token), ada.userId, "the same token serves again")
    const back = await w.signIn(ada.email)
    assert.strictEqual(back.status, 200)
    assert.strictEqual((await w.app.getSession(new Headers({ cookie: back.jar })))?.user.id, ada.userId)
    assert.isNull((await w.row(ada.userId)).deprovisionedAt)
  })

  it("a PUT with active: false, and the SCIM user deleted, lock out as the PATCH does; a PUT with active: true lets them back in", async () => {
    const w = held.world
    const ada = await w.provisioned()
    const put = (active: boolean) =>
      w.directory("PUT", `/Users/${ada.scimId}`, { schemas: [USER_SCHEMA], userName: ada.email, emails: [{ value: ada.email, primary: true }], active })
    assert.strictEqual((await put(false)).status, 200)
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated")
    assert.strictEqual((await put(true)).status, 200)
    assert.strictEqual(await w.byToken(ada.token), ada.userId)
    assert.strictEqual((await w.directory("DELETE", `/Users/${ada.scimId}`)).status, 204)
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated", "no active source is left")
    assert.strictEqual((await w.signIn(ada.email)).status, 403)
  })

  it("the directory's word and the app's deactivation are apart: the app's reactivation leaves a user the directory disabled locked out, and the directory re-enabling someone the app deactivated leaves them deactivated", async () => {
    const w = held.world
    const ada = await w.provisioned()
    await w.setActive(ada.scimId, false)
    const stillOut = await w.app.users.reactivate(ada.userId)
    assert.isNotNull(stillOut.deprovisionedAt, "reactivate answers the user, still deprovisioned")
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated", "the app's reactivation does not lift the directory's")
    await w.setActive(ada.scimId, true)
    assert.strictEqual(await w.byToken(ada.token), ada.userId)

    await w.app.users.deactivate(ada.userId)
    await w.setActive(ada.scimId, true) // a routine sync that says active again
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated", "the directory does not lift the app's deactivation")
    await w.setActive(ada.scimId, false)
    await w.setActive(ada.scimId, true)
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated")
    const both = await w.row(ada.userId)
    assert.isNotNull(both.deactivatedAt)
    assert.isNull(both.deprovisionedAt)
    await w.app.users.reactivate(ada.userId)
    assert.strictEqual(await w.byToken(ada.token), ada.userId)
  })

  it("a reconciliation the plugin rolls back (the app's callback, which runs after fusion-auth's write, failed) writes nothing: the user is not locked out, and the directory's retry is", async () => {
    const w = held.world
    const ada = await w.provisioned()
    w.failNext.on = true
    const failed = await w.setActive(ada.scimId, false)
    assert.isAtLeast(failed.status, 400, JSON.stringify(failed.body))
    assert.isNull((await w.row(ada.userId)).deprovisionedAt)
    assert.strictEqual(await w.byToken(ada.token), ada.userId)
    assert.strictEqual((await w.setActive(ada.scimId, false)).status, 200)
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated")
  })

  it("a user the directory creates is locked out by its active: false too, whatever credential the app gave them", async () => {
    const w = held.world
    const email = `made${++people}@corp.example`
    const created = await w.directory("POST", "/Users", { schemas: [USER_SCHEMA], userName: email, emails: [{ value: email, primary: true }], active: true })
    assert.strictEqual(created.status, 201, JSON.stringify(created.body))
    const user = await (await w.auth.$context).internalAdapter.findUserByEmail(email)
    const userId = user!.user.id
    const token = Redacted.value((await w.app.tokens.create({ userId, name: "integration" })).token)
    const session = await (await w.auth.$context).internalAdapter.createSession(userId, false)
    assert.strictEqual(await w.byToken(token), userId)
    assert.strictEqual((await w.setActive(String(created.body!.id), false)).status, 200)
    assert.strictEqual(await w.byToken(token), "Deactivated deactivated")
    const rows = await w.pool.query(`select count(*)::int as n from "session" where "token" = $1`, [session.token])
    assert.strictEqual(rows.rows[0].n, 0, "the plugin deleted their sessions")
  })

  it("a database the previous release migrated (no deprovisionedAt) upgrades with migrate(): an earlier deactivation and its token answer as before, the users the directory had disabled or deleted are locked out once, and the directory's word moves them from then on", async () => {
    const w = held.world
    const ada = await w.provisioned() // deactivated by the app; the directory has her active
    const bo = await w.provisioned() // disabled by the directory before the upgrade
    const cy = await w.provisioned() // deleted from the directory before the upgrade
    const di = await w.provisioned() // active everywhere
    await w.app.users.deactivate(ada.userId)
    assert.strictEqual((await w.setActive(bo.scimId, false)).status, 200)
    assert.strictEqual((await w.directory("DELETE", `/Users/${cy.scimId}`)).status, 204)
    // The database as the release before this one left it: migrations 1 to 8, and its saved model without the column.
    await w.pool.query(`alter table "user" drop column "deprovisionedAt"`)
    await w.pool.query(`delete from "fusionAuthMigrations" where "migration_id" >= 9`)
    await w.pool.query(`update "fusionAuthUserModel" set "model" = jsonb_set("model", '{columns}',
      (select jsonb_agg(c) from jsonb_array_elements("model"->'columns') c where c->>'key' <> 'deprovisionedAt'))`)
    await migrate(w.auth, { url: held.db.url })
    const ran = await w.pool.query(`select count(*)::int as n from "fusionAuthMigrations" where "migration_id" = 9`)
    assert.strictEqual(ran.rows[0].n, 1, "this release's migration recorded")
    const states = async () =>
      Object.fromEntries(await Promise.all(Object.entries({ ada, bo, cy, di }).map(async ([name, who]) => {
        const row = await w.row(who.userId)
        return [name, { app: row.deactivatedAt !== null, directory: row.deprovisionedAt !== null, token: await w.byToken(who.token) }]
      })))
    assert.deepStrictEqual(await states(), {
      ada: { app: true, directory: false, token: "Deactivated deactivated" },
      bo: { app: false, directory: true, token: "Deactivated deactivated" },
      cy: { app: false, directory: true, token: "Deactivated deactivated" },
      di: { app: false, directory: false, token: di.userId }
    })
    // Once: a directory's lock-out lifted by hand stays lifted at the next start.
    await w.pool.query(`update "user" set "deprovisionedAt" = null where "id" = $1`, [bo.userId])
    await migrate(w.auth, { url: held.db.url })
    assert.isNull((await w.row(bo.userId)).deprovisionedAt)
    await w.app.users.reactivate(ada.userId)
    assert.strictEqual(await w.byToken(ada.token), ada.userId, "the earlier token serves once reactivated")
    assert.strictEqual((await w.setActive(ada.scimId, false)).status, 200)
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated")
  })

  it("migrate() where the SCIM plugin's tables are not made yet (Better Auth on an adapter instance, whose tables the app makes) sets nothing and starts", async () => {
    const w = held.world
    const ada = await w.provisioned()
    await w.pool.query(`update "fusionAuthUserModel" set "model" = jsonb_set("model", '{columns}',
      (select jsonb_agg(c) from jsonb_array_elements("model"->'columns') c where c->>'key' <> 'deprovisionedAt'))`)
    const missing = { table: "noSuchTable", columns: [] }
    await migrateWith(w.auth, { url: held.db.url }, { saveModel: true, directory: { subject: missing, source: missing, binding: missing } })
    assert.isNull((await w.row(ada.userId)).deprovisionedAt)
    assert.strictEqual(await w.byToken(ada.token), ada.userId)
  })

  it("every path reads the directory's column as it reads the app's: a session that outlived the plugin's deletion (the column set by SQL) is refused by the native cookie statement, at Better Auth's endpoints and for its token", async () => {
    const w = held.world
    const ada = await w.provisioned()
    assert.strictEqual(decide(await w.auth.$context, "1.7.29")._tag, "Native", "the SCIM plugin leaves the native cookie path on")
    await w.pool.query(`update "user" set "deprovisionedAt" = now() where "id" = $1`, [ada.userId])
    assert.isNull(await w.app.getSession(new Headers({ cookie: ada.jar })), "the native cookie path refuses it")
    assert.strictEqual((await w.app.resolve(new Headers({ cookie: ada.jar })) as { error?: { _tag: string } }).error?._tag, "Deactivated")
    assert.deepInclude(await w.call("/update-user", ada.jar, { name: "Eve" }), { status: 401 })
    assert.isNull((await w.call("/get-session", ada.jar)).body)
    assert.strictEqual(await w.byToken(ada.token), "Deactivated deactivated")
    await w.pool.query(`update "user" set "deprovisionedAt" = null where "id" = $1`, [ada.userId])
    assert.strictEqual((await w.app.getSession(new Headers({ cookie: ada.jar })))?.user.id, ada.userId, "cleared, the same cookie serves")
  })
})
