/**
 * An app on a fresh database of `backend` with every statement counted on the wire: real
 * Better Auth (`makeAuth`), migrated, and `createAuthSession` on the same counted URL.
 */
import { createAuthSession } from "../../src/index.ts"
import { makeAuth, migrate } from "./auth.ts"
import type { Backend } from "./databases.ts"
import { countStatements, type WireCounter } from "./wire.ts"

export interface WiredApp {
  readonly wire: WireCounter
  readonly setup: ReturnType<typeof makeAuth>
  readonly app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
  /** The database's own URL, not counted. */
  readonly url: string
  close(): Promise<void>
}

export const wiredApp = async (backend: Backend): Promise<WiredApp> => {
  const db = await backend.make()
  const wire = await countStatements(db.url)
  const setup = makeAuth(wire.url)
  await migrate(setup.auth, { url: wire.url })
  const app = createAuthSession(setup.auth, { database: { url: wire.url } })
  return {
    wire,
    setup,
    app,
    url: db.url,
    close: async () => {
      await app.dispose()
      await setup.pool.end()
      await wire.close()
      await db.close()
    }
  }
}
