/**
 * An embedded folder as an earlier release leaves it: PGlite 0.5 (PostgreSQL 18) with its files
 * at the folder's top, served by the embedded server, with Better Auth and fusion-auth migrating,
 * signing up Ada and Bob, minting, revoking and deactivating through it (test/support/auth.ts's
 * Better Auth: its secret signs the cookies). Used by the upgrade suite and the new project's
 * production build.
 */
import { PGlite as EarlierPGlite } from "@fusion-auth/pglite-pg18"
import { mkdirSync } from "node:fs"
import { Redacted } from "effect"
import { createAuthSession } from "../../src/index.ts"
import { serve } from "../../src/sql/EmbeddedServer.ts"
import { authOn } from "./auth.ts"

/** Signs `email` up through `auth.api`; their id and the browser's `Cookie` header. */
export const signUpWith = async (auth: ReturnType<typeof authOn>, email: string) => {
  const { headers, response } = await auth.api.signUpEmail({ body: { email, password: "correct horse battery", name: email.split("@")[0]! }, returnHeaders: true })
  return { userId: response.user.id, cookie: headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") }
}

export interface Earlier {
  readonly ada: { readonly cookie: string; readonly token: string; readonly revoked: string }
  readonly bob: { readonly cookie: string; readonly token: string }
}

/** Writes the folder; `notes` rows go in a table of the app's own, with a `serial`. */
export const writeEarlier = async (dataDir: string, { notes }: { readonly notes: number }): Promise<Earlier> => {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const db = await EarlierPGlite.create({ dataDir })
  await db.exec(`create table notes (id serial primary key, body text not null); insert into notes (body) select repeat('x', 200) || g from generate_series(1, ${notes}) g`)
  const server = await serve(db as never, { socketDir: dataDir })
  try {
    const database = { url: server.url }
    const auth = authOn(database)
    const app = createAuthSession(auth, { database })
    try {
      await app.migrate()
      const ada = await signUpWith(auth, "ada@example.com")
      const bob = await signUpWith(auth, "bob@example.com")
      const adaToken = await app.tokens.create({ userId: ada.userId, name: "ci" })
      const revoked = await app.tokens.create({ userId: ada.userId, name: "old" })
      await app.tokens.revoke(ada.userId, revoked.info.id)
      const bobToken = await app.tokens.create({ userId: bob.userId, name: "ci" })
      await app.users.deactivate(bob.userId)
      return {
        ada: { cookie: ada.cookie, token: Redacted.value(adaToken.token), revoked: Redacted.value(revoked.token) },
        bob: { cookie: bob.cookie, token: Redacted.value(bobToken.token) }
      }
    } finally {
      await app.dispose()
    }
  } finally {
    await server.stop()
    await db.close()
  }
}
