/**
 * Vitest's global setup: a new PGlite's data directory as `initdb` leaves it, made once per
 * run and written to a private temporary folder named by `FUSION_AUTH_TEST_PGLITE_INITDB`,
 * which the test workers inherit; `databases.ts` starts each PGlite test database from it.
 */
import { PGlite } from "@electric-sql/pglite"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const INITDB = "FUSION_AUTH_TEST_PGLITE_INITDB"

export default async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "fusion-auth-initdb-"))
  const db = await PGlite.create()
  try {
    const file = join(dir, "initdb.tar")
    writeFileSync(file, Buffer.from(await (await db.dumpDataDir("none")).arrayBuffer()))
    process.env[INITDB] = file
  } finally {
    await db.close()
  }
  return () => {
    delete process.env[INITDB]
    rmSync(dir, { recursive: true, force: true })
  }
}
