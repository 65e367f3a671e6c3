/**
 * One owner per embedded data folder: a lock file, `fusion-auth.lock`, inside the folder.
 *
 * PGlite is single-process: two processes that open one folder each keep their own copy of
 * the database in memory and overwrite each other's writes. So the process that opens the
 * folder first holds the lock and writes into it the loopback URL its server listens on;
 * every other process either reaches the database through that URL (the CLI) or refuses to
 * start (a second app). A lock whose process has died is stale and is taken over, under a
 * short-lived `fusion-auth.lock.takeover` directory so that two processes never both take it.
 */
import { randomUUID } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/** What the lock file says: the owner's pid, its start time where the OS tells it, and its server's URL once it listens. */
export interface Owner {
  readonly pid: number
  readonly started: string | null
  readonly url: string | null
}

/** Thrown when another live process owns the folder; its message is one line naming that process. */
export class EmbeddedDatabaseInUse extends Error {
  override readonly name = "EmbeddedDatabaseInUse"
  readonly dataDir: string
  readonly pid: number
  constructor(dataDir: string, pid: number) {
    super(
      `fusion-auth: the embedded database in ${dataDir} is in use by process ${pid}; stop that process, or set DATABASE_URL to use a database server`
    )
    this.dataDir = dataDir
    this.pid = pid
  }
}

export interface Held {
  /** Writes the owner's server URL into the lock, for the other processes. */
  readonly publish: (url: string) => void
  /** Removes the lock (only while it is still this process's). */
  readonly release: () => void
}

export const LOCK_FILE = "fusion-auth.lock"

/** The process start time from `/proc` (Linux), so a reused pid is not taken for the owner. */
const startTime = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null
  } catch {
    return null
  }
}

const alive = (owner: Owner): boolean => {
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  if (owner.started === null) return true
  const now = startTime(owner.pid)
  return now === null || now === owner.started
}

const parse = (text: string): Owner | undefined => {
  try {
    const value = JSON.parse(text) as Partial<Owner>
    return typeof value.pid === "number" && Number.isSafeInteger(value.pid) && value.pid > 0
      ? { pid: value.pid, started: typeof value.started === "string" ? value.started : null, url: typeof value.url === "string" ? value.url : null }
      : undefined
  } catch {
    return undefined
  }
}

/** The folder's owner, if a lock file names one (live or not). */
export const read = (dataDir: string): Owner | undefined => {
  try {
    return parse(readFileSync(join(dataDir, LOCK_FILE), "utf8"))
  } catch {
    return undefined
  }
}

/** The live owner of the folder, if any. */
export const liveOwner = (dataDir: string): Owner | undefined => {
  const owner = read(dataDir)
  return owner !== undefined && owner.pid !== process.pid && alive(owner) ? owner : undefined
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const me = (url: string | null): string => JSON.stringify({ pid: process.pid, started: startTime(process.pid), url })

/**
 * Takes the folder's lock, or answers the live owner. A lock file that names a dead process
 * (or this one, left by an earlier open) is stale and taken over; one that cannot be read
 * yet (its owner is writing it) is read again for up to a second before it counts as stale.
 */
export const acquire = async (dataDir: string): Promise<{ readonly held: Held } | { readonly owner: Owner }> => {
  const file = join(dataDir, LOCK_FILE)
  const takeover = `${file}.takeover`
  for (let attempt = 0;; attempt++) {
    try {
      writeFileSync(file, me(null), { flag: "wx", mode: 0o600 })
      return { held: hold(file) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const text = (() => {
      try {
        return readFileSync(file, "utf8")
      } catch {
        return undefined // removed meanwhile: try again
      }
    })()
    if (text === undefined) continue
    const owner = parse(text)
    if (owner !== undefined && owner.pid !== process.pid && alive(owner)) return { owner }
    if (owner === undefined && attempt < 20) {
      await sleep(50)
      continue
    }
    // Stale: take it over, one process at a time.
    try {
      mkdirSync(takeover)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      const age = (() => {
        try {
          return Date.now() - statSync(takeover).mtimeMs
        } catch {
          return 0
        }
      })()
      if (age > 5_000) rmdirSync(takeover)
      else await sleep(20)
      continue
    }
    try {
      if (readFileSync(file, "utf8") === text) unlinkSync(file)
    } catch {
      // already gone
    } finally {
      rmdirSync(takeover)
    }
  }
}

const hold = (file: string): Held => {
  let released = false
  const releaseSync = () => {
    if (released) return
    released = true
    process.removeListener("exit", releaseSync)
    try {
      if (parse(readFileSync(file, "utf8"))?.pid === process.pid) unlinkSync(file)
    } catch {
      // gone already
    }
  }
  process.once("exit", releaseSync)
  return {
    publish: (url) => {
      const next = `${file}.${randomUUID()}.tmp`
      writeFileSync(next, me(url), { mode: 0o600 })
      renameSync(next, file)
    },
    release: releaseSync
  }
}

/**
 * Waits for the live owner to publish its server's URL (it does once it listens); undefined
 * when the owner went away meanwhile.
 */
export const ownerUrl = async (dataDir: string, owner: Owner, timeoutMs = 15_000): Promise<string | undefined> => {
  const deadline = Date.now() + timeoutMs
  let current: Owner | undefined = owner
  while (current !== undefined && current.url === null) {
    if (Date.now() > deadline) {
      throw new Error(`fusion-auth: process ${owner.pid} holds the embedded database in ${dataDir} but has not published its server`)
    }
    await sleep(50)
    current = liveOwner(dataDir)
  }
  return current?.url ?? undefined
}
