/**
 * A new PGlite's data directory as `initdb` leaves it. Vitest's global setup (the default
 * export) makes it once per run and writes it to a private temporary folder named by
 * `FUSION_AUTH_TEST_PGLITE_INITDB`, which the test workers inherit; `databases.ts` starts each
 * PGlite test database from it.
 */
import { PGlite } from "@electric-sql/pglite"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const INITDB = "FUSION_AUTH_TEST_PGLITE_INITDB"

/** A fresh PGlite's data directory, as a tarball. */
export const initdb = async (): Promise<Blob> => {
  const db = await PGlite.create()
  try {
    return await db.dumpDataDir("none")
  } finally {
    await db.close()
  }
}

export default async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "fusion-auth-initdb-"))
  const teardown = () => {
    delete process.env[INITDB]
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const file = join(dir, "initdb.tar")
    writeFileSync(file, Buffer.from(await (await initdb()).arrayBuffer()))
    process.env[INITDB] = file
  } catch (error) {
    teardown()
    throw error
  }
  return teardown
}
