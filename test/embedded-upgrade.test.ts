/**
 * An embedded folder an earlier release wrote, opened by this one: earlier releases ran PGlite
 * 0.5 (PostgreSQL 18) with its files at the top of the folder; this one runs PGlite 0.6
 * (PostgreSQL 19), which cannot open them, and upgrades the folder when it opens it
 * (src/sql/EmbeddedUpgrade.ts). The earlier folder is written as an earlier release wrote it:
 * PGlite 0.5 on the folder, served by the embedded server, with Better Auth and fusion-auth
 * migrating, signing up, minting, revoking and deactivating through it.
 */
import { afterEach, assert, describe, it } from "@effect/vitest"
import { PGlite as EarlierPGlite } from "@fusion-auth/pglite-pg18"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Logger, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import pg from "pg"
import { createAuthSession, type DatabaseOptions } from "../src/index.ts"
import * as Database from "../src/sql/Database.ts"
import * as EmbeddedLock from "../src/sql/EmbeddedLock.ts"
import { ownerUrl } from "../src/sql/EmbeddedOwner.ts"
import { EARLIER, PGDATA } from "../src/sql/EmbeddedUpgrade.ts"
import { authOn } from "./support/auth.ts"
import { type Earlier, signUpWith, writeEarlier as writeEarlierFolder } from "./support/earlier.ts"

// The embedded default is what is tested here, never a server from the environment.
delete process.env.DATABASE_URL

const dirs: Array<string> = []
const apps: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.dispose()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "fusion-auth-upgrade-"))
  dirs.push(dir)
  return join(dir, "data")
}

type App = ReturnType<typeof createAuthSession>

const makeApp = (database: DatabaseOptions) => {
  const auth = authOn(database)
  const app = createAuthSession(auth, { database })
  apps.push(app)
  return { auth, app }
}

/** Who `headers` are, as the app answers: an email and the credential, or the refusal's tag. */
const who = async (app: App, headers: Record<string, string>) => {
  const result = await app.resolve(new Headers(headers))
  return "session" in result ? `${result.session.user.email} by ${result.session.session === null ? "token" : "cookie"}` : result.error._tag
}

const NOTES = 20_000

/** `dataDir` as an earlier release leaves it, with enough rows in the app's own table that restoring them takes a while. */
const writeEarlier = (dataDir: string) => writeEarlierFolder(dataDir, { notes: NOTES })

/** Each credential of `earlier`, as the app answers it. */
const answers = async (app: App, earlier: Earlier) => ({
  adaCookie: await who(app, { cookie: earlier.ada.cookie }),
  adaToken: await who(app, { authorization: `Bearer ${earlier.ada.token}` }),
  adaRevoked: await who(app, { authorization: `Bearer ${earlier.ada.revoked}` }),
  bobCookie: await who(app, { cookie: earlier.bob.cookie }),
  bobToken: await who(app, { authorization: `Bearer ${earlier.bob.token}` })
})

const asBefore = {
  adaCookie: "ada@example.com by cookie",
  adaToken: "ada@example.com by token",
  adaRevoked: "InvalidToken",
  bobCookie: "Deactivated",
  bobToken: "Deactivated"
}

const version = (folder: string) => readFileSync(join(folder, "PG_VERSION"), "utf8").trim()

describe("an embedded folder an earlier release wrote (PostgreSQL 18 at its top)", () => {
  it("is upgraded when opened: every session, token and deactivation answers as before, Better Auth signs in, and the old files are kept", async () => {
    const dataDir = freshDir()
    const earlier = await writeEarlier(dataDir)
    assert.strictEqual(version(dataDir), EARLIER)

    const { auth, app } = makeApp({ dataDir })
    // The process stays responsive while it upgrades (the restore is a worker's), so the lock's heartbeat goes on.
    let last = performance.now()
    let longest = 0
    const ticker = setInterval(() => {
      longest = Math.max(longest, performance.now() - last)
      last = performance.now()
    }, 20)
    await app.migrate().finally(() => clearInterval(ticker))
    // Restoring in the process's own thread held it for 2.3 s here with these rows; the heartbeat beats every 2 s.
    assert.isBelow(longest, 1_000)
    assert.deepStrictEqual(await answers(app, earlier), asBefore)
    // The app's own table: every row, and its sequence going on from where it was.
    const client = new pg.Client({ host: dataDir, user: "postgres", database: "postgres" })
    await client.connect()
    try {
      assert.strictEqual((await client.query<{ n: string }>("select count(*) as n from notes")).rows[0]!.n, String(NOTES))
      assert.strictEqual((await client.query<{ id: number }>("insert into notes (body) values ('after') returning id")).rows[0]!.id, NOTES + 1)
    } finally {
      await client.end()
    }
    // Better Auth's own door: the cookie's session, and a password hashed by the earlier release.
    assert.strictEqual((await auth.api.getSession({ headers: new Headers({ cookie: earlier.ada.cookie }) }))?.user.email, "ada@example.com")
    const signedIn = await auth.api.signInEmail({ body: { email: "ada@example.com", password: "correct horse battery" } })
    assert.strictEqual(signedIn.user.email, "ada@example.com")
    // A new token is minted and answers.
    const minted = await app.tokens.create({ userId: signedIn.user.id, name: "after" })
    assert.strictEqual(await who(app, { authorization: `Bearer ${Redacted.value(minted.token)}` }), "ada@example.com by token")

    // PostgreSQL's files: this release's in pgdata/, the earlier ones moved whole into pgdata-18/,
    // and at the top only pgdata/'s version, the mark an earlier release stumbles on.
    const current = version(join(dataDir, PGDATA))
    assert.notStrictEqual(current, EARLIER)
    assert.strictEqual(version(dataDir), current)
    assert.isFalse(existsSync(join(dataDir, `${PGDATA}.tmp`)))
    assert.deepStrictEqual(readdirSync(dataDir).filter((name) => !name.startsWith("fusion-auth.lock") && !name.startsWith(".s.PGSQL.")).sort(), ["PG_VERSION", PGDATA, `${PGDATA}-${EARLIER}`])
    await app.dispose()

    // An earlier release (PGlite 0.5) on the upgraded folder fails to open it, rather than starting an empty database there.
    const refused = await EarlierPGlite.create({ dataDir }).then((db) => db.close().then(() => "opened"), (error: unknown) => String(error))
    assert.notStrictEqual(refused, "opened")

    // The kept files still open with the earlier PostgreSQL, with the earlier data.
    const backup = await EarlierPGlite.create({ dataDir: join(dataDir, `${PGDATA}-${EARLIER}`) })
    try {
      const { rows } = await backup.query<{ email: string }>(`select email from "user" order by email`)
      assert.deepStrictEqual(rows.map((row) => row.email), ["ada@example.com", "bob@example.com"])
    } finally {
      await backup.close()
    }

    // Opened again: nothing more to upgrade, the token minted after it still answers.
    const { app: again } = makeApp({ dataDir })
    assert.strictEqual(await who(again, { authorization: `Bearer ${Redacted.value(minted.token)}` }), "ada@example.com by token")
    assert.deepStrictEqual(await answers(again, earlier), asBefore)
  }, 180_000)

  it("cut short while restoring (the process killed): the earlier files are as they were, and the next open upgrades", async () => {
    const dataDir = freshDir()
    const earlier = await writeEarlier(dataDir)
    const before = readdirSync(dataDir).sort()
    // A restore's folder as an earlier cut-short open may leave it: the next restore starts afresh.
    mkdirSync(join(dataDir, `${PGDATA}.tmp`, "base"), { recursive: true })
    writeFileSync(join(dataDir, `${PGDATA}.tmp`, "PG_VERSION"), "19\n")
    writeFileSync(join(dataDir, `${PGDATA}.tmp`, "base", "junk"), "not a table")
    // An app process opening the folder, killed as soon as its restore has begun.
    const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, "support/embedded-owner.ts"), dataDir], { stdio: "ignore", env: { ...process.env, DATABASE_URL: "" } })
    const exited = new Promise((resolve) => child.once("exit", resolve))
    const deadline = Date.now() + 60_000
    const restoring = () => existsSync(join(dataDir, `${PGDATA}.tmp`)) && !existsSync(join(dataDir, `${PGDATA}.tmp`, "base", "junk"))
    while (!restoring() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    child.kill("SIGKILL")
    await exited
    assert.isTrue(restoring(), "the left-over folder was removed and the restore had begun")
    assert.isFalse(existsSync(join(dataDir, PGDATA)))
    // Only the restore's folder and the killed process's lock (stale, taken over by the next open) are new.
    const postgres = (names: Array<string>) => names.filter((name) => name !== `${PGDATA}.tmp` && !name.startsWith("fusion-auth.lock")).sort()
    assert.deepStrictEqual(postgres(readdirSync(dataDir)), postgres(before))
    assert.strictEqual(version(dataDir), EARLIER)

    const { app } = makeApp({ dataDir })
    await app.migrate()
    assert.deepStrictEqual(await answers(app, earlier), asBefore)
    assert.isFalse(existsSync(join(dataDir, `${PGDATA}.tmp`)))
  }, 180_000)

  it("cut short after the upgrade was committed, before the old files were moved: the move is finished, nothing restored again", async () => {
    const dataDir = freshDir()
    const earlier = await writeEarlier(dataDir)
    const { app } = makeApp({ dataDir })
    const minted = await app.tokens.create({ userId: (await app.users.findByEmail("ada@example.com"))!.id, name: "after" })
    await app.dispose()
    // The state an open killed midway through the move leaves: half the earlier files back at the
    // top with PG_VERSION (moved last), the mark not yet written; and a file of the user's there.
    const backup = join(dataDir, `${PGDATA}-${EARLIER}`)
    const moved = readdirSync(backup).sort()
    for (const name of moved.filter((name, i) => name === "PG_VERSION" || i % 2 === 0)) renameSync(join(backup, name), join(dataDir, name))
    writeFileSync(join(dataDir, "notes.txt"), "mine")

    const { app: again } = makeApp({ dataDir })
    // Restoring again would lose the token minted after the upgrade.
    assert.strictEqual(await who(again, { authorization: `Bearer ${Redacted.value(minted.token)}` }), "ada@example.com by token")
    assert.deepStrictEqual(await answers(again, earlier), asBefore)
    assert.deepStrictEqual(readdirSync(backup).sort(), moved)
    assert.strictEqual(version(backup), EARLIER)
    assert.strictEqual(version(dataDir), version(join(dataDir, PGDATA)))
    assert.strictEqual(readFileSync(join(dataDir, "notes.txt"), "utf8"), "mine") // only PostgreSQL's entries move
  }, 180_000)

  it("refuses to restore when pgdata-18/ is already there (the earlier files would have nowhere to go), touching nothing", async () => {
    const dataDir = freshDir()
    await writeEarlier(dataDir)
    mkdirSync(join(dataDir, `${PGDATA}-${EARLIER}`))
    writeFileSync(join(dataDir, `${PGDATA}-${EARLIER}`, "PG_VERSION"), "18\n")
    const before = readdirSync(dataDir).filter((name) => !name.startsWith("fusion-auth.lock")).sort()
    const { app } = makeApp({ dataDir })
    const error = await app.migrate().then(() => undefined, (e: unknown) => e as Error)
    assert.match(String(error?.message), /pgdata-18 is in the way of its upgrade/)
    assert.deepStrictEqual(readdirSync(dataDir).filter((name) => !name.startsWith("fusion-auth.lock")).sort(), before)
  }, 120_000)

  it("a new folder: PostgreSQL's files in pgdata/, their version marked at the top, and an earlier release refuses it rather than starting an empty database there", async () => {
    const dataDir = freshDir()
    const { auth, app } = makeApp({ dataDir })
    await app.migrate()
    const { userId } = await signUpWith(auth, "ada@example.com")
    await app.dispose()
    assert.notStrictEqual(version(join(dataDir, PGDATA)), EARLIER)
    assert.strictEqual(version(dataDir), version(join(dataDir, PGDATA)))
    const refused = await EarlierPGlite.create({ dataDir }).then((db) => db.close().then(() => "opened"), (error: unknown) => String(error))
    assert.notStrictEqual(refused, "opened")
    const { app: again } = makeApp({ dataDir })
    assert.strictEqual((await again.users.findByEmail("ada@example.com"))?.id, userId)
  }, 120_000)

  it("the CLI beside an owner still restoring waits past its usual 15 s for the owner's server, and gives up as usual once no restore is under way", async () => {
    const dataDir = freshDir()
    mkdirSync(join(dataDir, `${PGDATA}.tmp`), { recursive: true })
    // A live owner in another PID namespace (its heartbeat moving), its server not yet published.
    const lock = () => ({ pid: 13, started: "42", host: hostname(), machine: `boot:${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`, namespace: "pid:[1]", id: "restoring", heartbeat: Date.now(), url: null, socket: null })
    const write = () => writeFileSync(join(dataDir, EmbeddedLock.LOCK_FILE), JSON.stringify(lock()))
    write()
    const beating = setInterval(write, 200)
    try {
      let settled: string | undefined
      const waited = ownerUrl(dataDir, EmbeddedLock.read(dataDir)!, 100).then(() => (settled = "answered"), (error: Error) => (settled = error.message))
      await new Promise((r) => setTimeout(r, 600))
      assert.isUndefined(settled, "still waiting while the restore is under way")
      rmSync(join(dataDir, `${PGDATA}.tmp`), { recursive: true })
      await waited
      assert.match(settled!, /has not published its server/)
    } finally {
      clearInterval(beating)
    }
  })

  it("refuses, with one line and nothing touched, a folder of a PostgreSQL it cannot upgrade", async () => {
    const dataDir = freshDir()
    mkdirSync(dataDir, { recursive: true })
    writeFileSync(join(dataDir, "PG_VERSION"), "17\n")
    const { app } = makeApp({ dataDir })
    const error = await app.migrate().then(() => undefined, (e: unknown) => e as Error)
    assert.isDefined(error)
    assert.match(error!.message, /written by PostgreSQL 17, and this release upgrades only folders of PostgreSQL 18/)
    assert.strictEqual(error!.message.split("\n").length, 1, error!.message)
    assert.deepStrictEqual(readdirSync(dataDir).filter((name) => !name.startsWith("fusion-auth.lock")), ["PG_VERSION"])
  }, 60_000)

  it("logs the upgrade through the logger of the program that opens the folder", async () => {
    const dataDir = freshDir()
    await writeEarlierFolder(dataDir, { notes: 0 })
    const lines: Array<string> = []
    const capture = Logger.make(({ message }) => {
      lines.push(String(Array.isArray(message) ? message.join(" ") : message))
    })
    await Effect.runPromise(
      Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql`select count(*) from "user"`
      })).pipe(Effect.provide(Database.layer({ dataDir })), Effect.provide(Logger.layer([capture])))
    )
    await Database.closeEmbedded()
    assert.deepStrictEqual(lines.map((line) => line.replaceAll(dataDir, "<folder>")), [
      `fusion-auth: upgrading the embedded database in <folder> from PostgreSQL 18 (an earlier release's); its files will be kept in <folder>/pgdata-18`,
      "fusion-auth: the embedded database in <folder> is upgraded"
    ])
  }, 120_000)
})
