/**
 * Where PostgreSQL's files live in an embedded folder, and the upgrade of a folder that an
 * earlier release wrote. Earlier releases ran PGlite 0.5 (PostgreSQL 18) with its files at the
 * top of the folder; PGlite 0.6 runs PostgreSQL 19, which cannot open them, and this release
 * keeps them in `pgdata/`, so that a later major version can be made beside them and put in
 * place by one rename.
 *
 * The upgrade: the old files are read by PGlite 0.5 (`@fusion-auth/pglite-pg18`) and pg_dump
 * (vendor/pglite-tools), the dump is restored by this release's PGlite into `pgdata.tmp/` and
 * checked (`EmbeddedRestore`, in a worker thread so that the lock's heartbeat goes on), written
 * to disk, and renaming that to `pgdata/` commits it. Only then are PostgreSQL's old files moved
 * into `pgdata-18/`, kept for going back. An open cut short anywhere is taken up by the next
 * one: before the rename the old files are untouched (a half-made `pgdata.tmp/` is made again),
 * after it the move is finished. The folder's lock is held throughout (`EmbeddedDatabase.make`).
 *
 * Once open, the top of the folder gets a `PG_VERSION` naming `pgdata/`'s version (`mark`): an
 * earlier release then fails to open the folder, rather than starting an empty database in it.
 */
import { existsSync, readFileSync } from "node:fs"
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { VERSION } from "../core/Version.ts"

/** The folder of PostgreSQL's files inside the embedded folder. */
export const PGDATA = "pgdata"

/** The folder an upgrade restores into, there for as long as a restore is under way (renamed to `PGDATA` to commit it). */
export const RESTORING = `${PGDATA}.tmp`

/** The major version of PostgreSQL that `@fusion-auth/pglite-pg18` reads: every earlier release's. */
export const EARLIER = "18"

/** The entries PostgreSQL keeps at the top of its data folder: what the move takes, and nothing else. */
const POSTGRES_ENTRY = /^(?:PG_VERSION|base|global|pg_[a-z_]+(?:\.conf)?|postgresql(?:\.auto)?\.conf|postmaster\.(?:opts|pid)|current_logfiles|backup_label|tablespace_map)$/

export interface Plan {
  /** PostgreSQL's files, for PGlite's `dataDir`. */
  readonly pgdata: string
  /** The earlier release's files at the top of the folder, when there are any. */
  readonly earlier?: {
    /** Their PostgreSQL's major version (`PG_VERSION`). */
    readonly version: string
    /** Where they are moved once the upgrade is committed. */
    readonly backup: string
    /** Where the restore's code is, when there is one to make (`undefined` when an open cut short before the move committed it). */
    readonly restorer: URL | undefined
  }
}

/** The major version a PostgreSQL data folder names in its `PG_VERSION`; `undefined` when it has none. */
const versionOf = (folder: string): Promise<string | undefined> =>
  readFile(join(folder, "PG_VERSION"), "utf8").then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(error))
  )

const entries = (folder: string): Promise<Array<string>> =>
  readdir(folder).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? [] : Promise.reject(error)))

/** What opening `dataDir` takes: where PostgreSQL's files are, and an earlier release's files to upgrade. */
export const plan = async (dataDir: string): Promise<Plan> => {
  const pgdata = join(dataDir, PGDATA)
  const [top, current] = [await versionOf(dataDir), await versionOf(pgdata)]
  // Nothing at the top, or this release's mark: nothing to upgrade.
  if (top === undefined || top === current) return { pgdata }
  if (top !== EARLIER) {
    throw new Error(`it was written by PostgreSQL ${top}, and this release upgrades only folders of PostgreSQL ${EARLIER} (fusion-auth's earlier releases)`)
  }
  const backup = join(dataDir, `${PGDATA}-${top}`)
  if (current !== undefined) return { pgdata, earlier: { version: top, backup, restorer: undefined } }
  if ((await entries(backup)).length > 0) {
    throw new Error(`${backup} is in the way of its upgrade (it keeps the earlier files once upgraded): move it out of the folder`)
  }
  return { pgdata, earlier: { version: top, backup, restorer: restoreModule() } }
}

/** The earlier release's files restored into `plan.pgdata`, then PostgreSQL's old files moved into the backup folder. */
export const upgrade = async (dataDir: string, { pgdata, earlier }: Plan): Promise<void> => {
  if (earlier === undefined) return
  if (earlier.restorer !== undefined) {
    const made = join(dataDir, RESTORING)
    await rm(made, { recursive: true, force: true })
    await restoreInWorker(earlier.restorer, dataDir, made)
    await writtenToDisk(made)
    await rename(made, pgdata)
    await writtenToDisk(dataDir, false)
  }
  await mkdir(earlier.backup, { recursive: true, mode: 0o700 })
  // PG_VERSION last: while it is at the top, the next open knows the move is not finished.
  const names = (await readdir(dataDir)).filter((name) => POSTGRES_ENTRY.test(name)).sort((a, b) => Number(a === "PG_VERSION") - Number(b === "PG_VERSION"))
  const there = new Set(await entries(earlier.backup))
  const clash = names.find((name) => there.has(name))
  if (clash !== undefined) throw new Error(`${join(earlier.backup, clash)} is in the way of moving the earlier files there: move ${earlier.backup} out of the folder`)
  for (const name of names) await rename(join(dataDir, name), join(earlier.backup, name))
  await writtenToDisk(dataDir, false)
}

/** The top of the folder names `pgdata/`'s version, so that an earlier release refuses the folder. */
export const mark = async (dataDir: string): Promise<void> => {
  const current = await versionOf(join(dataDir, PGDATA))
  if (current === undefined || (await versionOf(dataDir)) === current) return
  const next = join(dataDir, `${PGDATA}.version.tmp`)
  await writeFile(next, `${current}\n`, { mode: 0o600 })
  await rename(next, join(dataDir, "PG_VERSION"))
}

/**
 * `EmbeddedRestore`'s module. Beside this one where fusion-auth runs as its package installs it
 * (or from src/). An app's server bundle (TanStack Start's `vite build`, Nitro) carries this
 * module's code but not that file, nor PGlite 0.5 and pg_dump, which it loads: there it is
 * taken from the fusion-auth the app installed, resolved from the bundle as the app's imports
 * are, and only when that is this very release.
 */
const restoreModule = (): URL => {
  // This module's own extension: `.ts` when run from src/ (Node strips the types), `.js` from dist/.
  const beside = new URL(`./EmbeddedRestore${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url)
  if (existsSync(beside)) return beside
  const instead = `upgrade the folder once, with the app stopped, where fusion-auth ${VERSION} is installed: \`npx fusion-auth@${VERSION} users list\` in the app's folder (it opens the folder and upgrades it; FUSION_AUTH_DATA_DIR names the folder if it is not .data/fusion-auth there), then start the app again`
  const root = (() => {
    try {
      return new URL(".", import.meta.resolve("fusion-auth/package.json"))
    } catch {
      return undefined // not resolvable from here: not installed
    }
  })()
  const restorer = root && new URL("dist/sql/EmbeddedRestore.js", root)
  if (root === undefined || restorer === undefined || !existsSync(restorer)) {
    throw new Error(`the tools that read it (PGlite 0.5 and pg_dump, in the fusion-auth package) are not in this server bundle, and no fusion-auth package is installed where ${fileURLToPath(import.meta.url)} can import it: ${instead}`)
  }
  const installed = (JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { version?: unknown }).version
  if (installed !== VERSION) {
    throw new Error(`the tools that read it are in the fusion-auth package, and the one installed beside this server bundle is ${String(installed)}, not the bundle's own ${VERSION}: ${instead}`)
  }
  return restorer
}

/** `EmbeddedRestore` in a worker thread: done when the restored database is checked against the earlier one. */
const restoreInWorker = (restorer: URL, from: string, into: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(restorer, { workerData: { from, into } })
    let done = false
    worker.once("message", () => (done = true))
    worker.once("error", reject)
    worker.once("exit", (code) => (done ? resolve() : reject(new Error(`the restore stopped (exit code ${code}) before it was checked`))))
  })

/** Every file and folder under `path` (or `path` alone) flushed to disk: PGlite writes without fsync. */
const writtenToDisk = async (path: string, recursive = true): Promise<void> => {
  if (recursive) {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isDirectory()) await writtenToDisk(join(path, entry.name))
      else if (entry.isFile()) await flush(join(path, entry.name))
    }
  }
  await flush(path)
}

const flush = async (path: string) => {
  const handle = await open(path, "r")
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
