/**
 * Where PostgreSQL's files live in an embedded folder, and the upgrade of a folder that an
 * earlier release wrote. Earlier releases ran PGlite 0.5 (PostgreSQL 18) with its files at the
 * top of the folder; PGlite 0.6 runs PostgreSQL 19, which cannot open them, and this release
 * keeps them in `pgdata/`, so that a later major version can be made beside them and put in
 * place by one rename.
 *
 * The upgrade: the old files are read by PGlite 0.5 (`@fusion-auth/pglite-pg18`) and pg_dump
 * (vendor/pglite-tools), the dump is restored by this release's PGlite into `pgdata.tmp/`, and
 * renaming that to `pgdata/` commits it. Only then are the old files moved into `pgdata-18/`,
 * kept for going back. An open cut short anywhere is taken up by the next one: before the
 * rename the old files are untouched (a half-made `pgdata.tmp/` is made again), after it the
 * move is finished. The folder's lock is held throughout (`EmbeddedDatabase.make`).
 */
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises"
import { join } from "node:path"
import { LOCK_FILE } from "./EmbeddedLock.ts"

/** The folder of PostgreSQL's files inside the embedded folder. */
export const PGDATA = "pgdata"

/** The major version of PostgreSQL that `@fusion-auth/pglite-pg18` reads: every earlier release's. */
export const EARLIER = "18"

export interface Plan {
  /** PostgreSQL's files, for PGlite's `dataDir`. */
  readonly pgdata: string
  /** The earlier release's files at the top of the folder, when there are any. */
  readonly earlier?: {
    /** Their PostgreSQL's major version (`PG_VERSION`). */
    readonly version: string
    /** Where they are moved once the upgrade is committed. */
    readonly backup: string
    /** False when the upgrade was committed by an open cut short before the move. */
    readonly restore: boolean
  }
}

/** The major version a PostgreSQL data folder names in its `PG_VERSION`; `undefined` when it has none. */
const versionOf = (folder: string): Promise<string | undefined> =>
  readFile(join(folder, "PG_VERSION"), "utf8").then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error))
  )

/** fusion-auth's own entries at the top of the folder: its lock (and its takeover and temporary files), the socket, and `pgdata*`. */
const ours = (name: string) => name.startsWith(LOCK_FILE) || name.startsWith(".s.PGSQL.") || name === PGDATA || name.startsWith(`${PGDATA}.`) || name.startsWith(`${PGDATA}-`)

/** What opening `dataDir` takes: where PostgreSQL's files are, and an earlier release's files to upgrade. */
export const plan = async (dataDir: string): Promise<Plan> => {
  const pgdata = join(dataDir, PGDATA)
  const version = await versionOf(dataDir)
  if (version === undefined) return { pgdata }
  const restore = (await versionOf(pgdata)) === undefined
  if (restore && version !== EARLIER) {
    throw new Error(`it was written by PostgreSQL ${version}, and this release upgrades only folders of PostgreSQL ${EARLIER} (fusion-auth's earlier releases)`)
  }
  return { pgdata, earlier: { version, backup: join(dataDir, `${PGDATA}-${version}`), restore } }
}

/** The earlier release's files restored into `plan.pgdata`, then moved into their backup folder. */
export const upgrade = async (dataDir: string, { pgdata, earlier }: Plan): Promise<void> => {
  if (earlier === undefined) return
  if (earlier.restore) {
    const made = `${pgdata}.tmp`
    await rm(made, { recursive: true, force: true })
    await rename(await restored(dataDir, made), pgdata)
  }
  await mkdir(earlier.backup, { recursive: true, mode: 0o700 })
  // PG_VERSION last: while it is at the top, the next open knows the move is not finished.
  const names = (await readdir(dataDir)).filter((name) => !ours(name)).sort((a, b) => Number(a === "PG_VERSION") - Number(b === "PG_VERSION"))
  for (const name of names) await rename(join(dataDir, name), join(earlier.backup, name))
}

/** The database in `from` (PostgreSQL 18), dumped and restored into a new folder `into` by this release's PGlite. */
const restored = async (from: string, into: string): Promise<string> => {
  const { PGlite: Earlier } = await import("@fusion-auth/pglite-pg18")
  const { a: pgDump } = await import("../../vendor/pglite-tools/pg_dump.js")
  const old = await Earlier.create({ dataDir: from })
  const dump = await pgDump({ pg: old }).then((file) => file.text()).finally(() => old.close())
  const { PGlite } = await import("@electric-sql/pglite")
  const fresh = await PGlite.create({ dataDir: into })
  await fresh.exec(dump).finally(() => fresh.close())
  return into
}
