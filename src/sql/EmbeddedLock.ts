/**
 * One owner per embedded data folder: a lock file, `fusion-auth.lock`, inside the folder.
 *
 * PGlite is single-process: two processes that open one folder each keep their own copy of
 * the database in memory and overwrite each other's writes. So the process that opens the
 * folder first holds the lock and writes into it where its server listens (a Unix socket in
 * the folder); every other process either reaches the database there (the CLI) or refuses to
 * start (a second app).
 *
 * The lock says where its owner lives: its host, its PID namespace (a container over the same
 * volume has its own), its pid and start time, and a heartbeat the owner renews every
 * `HEARTBEAT_MS`. A pid means something only in its own namespace on its own host, so:
 * - same host and namespace: the owner is alive while its pid is (with the same start time);
 * - anywhere else: while its heartbeat is fresh (younger than `STALE_MS`).
 * A lock whose owner is not alive is stale and is taken over, under a short-lived
 * `fusion-auth.lock.takeover` directory so that two processes never both take it. A lock
 * written by an earlier release names no host or namespace and is judged by its pid, as then.
 */
import { randomUUID } from "node:crypto"
import { mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { LineError } from "./LineError.ts"
import { here, pidAlive, startTime } from "./ProcessPlace.ts"

/** What the lock file says. */
export interface Owner {
  readonly pid: number
  /** The process start time from `/proc`, so a reused pid is not taken for the owner. */
  readonly started: string | null
  /** The owner's host name (for messages), machine (its kernel's boot id: every container on one kernel shares it) and PID namespace; null in a lock of an earlier release. */
  readonly host: string | null
  readonly machine: string | null
  readonly namespace: string | null
  /** This open of the folder, so an owner knows its lock from another's with the same pid. */
  readonly id: string | null
  /** When the owner last renewed the lock (epoch ms); null in a lock of an earlier release. */
  readonly heartbeat: number | null
  /** The connection URL of the owner's server, once it listens, as the owner sees its own paths. */
  readonly url: string | null
  /**
   * Where its socket is: `"."`, the data folder itself (reached by whatever path the reader
   * mounts the folder at: a container's `/data` is the host's `/srv/app/data`); or an absolute folder.
   */
  readonly socket: string | null
}

/** How often the owner renews its lock, and how old a renewal may be before the lock is stale. */
export const HEARTBEAT_MS = 2_000
export const STALE_MS = 15_000

/**
 * Another live process owns the folder; the message is one line saying where that process is.
 * A tagged error (`_tag`, for `Effect.catchTag`) that prints as that line and its stack.
 */
export class EmbeddedDatabaseInUse extends LineError("EmbeddedDatabaseInUse") {
  declare readonly dataDir: string
  declare readonly owner: string
  constructor(args: { readonly dataDir: string; readonly owner: string }) {
    super(`fusion-auth: the embedded database in ${args.dataDir} is in use by ${args.owner}; stop that process, or set DATABASE_URL to use a database server`, args)
  }
}

export interface Held {
  /** Writes where the owner's server listens into the lock, for the other processes. */
  readonly publish: (server: Server) => void
  /** Renews the heartbeat; false when the lock is no longer this process's. */
  readonly beat: () => boolean
  /** Removes the lock (only while it is still this process's). */
  readonly release: () => void
}

export const LOCK_FILE = "fusion-auth.lock"

/** Whether the owner runs on this machine (its socket is reachable here); an earlier release's lock names none. */
export const sameHost = (owner: Owner): boolean =>
  owner.machine !== null ? owner.machine === here.machine : owner.host === null || owner.host === here.host

/** Whether a pid means the same process here as for the owner: same machine and namespace (or a lock that names neither). */
const local = (owner: Owner): boolean => sameHost(owner) && (owner.namespace === null || owner.namespace === here.namespace)

/** Where the owner is, for a message: "process 13 in another PID namespace on host a1b2". */
export const whereabouts = (owner: Owner): string => {
  const elsewhere = !sameHost(owner)
    ? ` on host ${owner.host}`
    : owner.namespace !== null && owner.namespace !== here.namespace
    ? ` in another PID namespace (${owner.namespace}: a container?)`
    : ""
  return `process ${owner.pid}${elsewhere}`
}

/** Is the owner alive, at a glance: by its pid where that means something here, else by its heartbeat's age. */
export const alive = (owner: Owner, now = Date.now()): boolean =>
  local(owner) ? pidAlive(owner.pid, owner.started) : owner.heartbeat !== null && now - owner.heartbeat < STALE_MS

/**
 * An owner elsewhere (another namespace or machine), watched by this process's own clock: alive
 * when its heartbeat moves within `STALE_MS`, stale when it does not (another clock's time is
 * never compared with this one). "changed" when the lock was removed or replaced meanwhile.
 */
const watch = async (file: string, owner: Owner): Promise<"alive" | "stale" | "changed"> => {
  const deadline = Date.now() + STALE_MS
  while (Date.now() < deadline) {
    await sleep(200)
    let current: Owner | undefined
    try {
      current = parse(readFileSync(file, "utf8"))
    } catch {
      return "changed"
    }
    if (current === undefined || current.id !== owner.id || current.pid !== owner.pid) return "changed"
    if (current.heartbeat !== owner.heartbeat) return "alive"
  }
  return "stale"
}

const text = (value: unknown) => (typeof value === "string" ? value : null)

const parse = (source: string): Owner | undefined => {
  try {
    const value = JSON.parse(source) as Record<string, unknown>
    const pid = value.pid
    if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0) return undefined
    const heartbeat = typeof value.heartbeat === "number" && Number.isFinite(value.heartbeat) ? value.heartbeat : null
    return {
      pid,
      started: text(value.started),
      host: text(value.host),
      machine: text(value.machine),
      namespace: text(value.namespace),
      id: text(value.id),
      heartbeat,
      url: text(value.url),
      socket: text(value.socket)
    }
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

const isMe = (owner: Owner | undefined): boolean => owner !== undefined && owner.pid === process.pid && local(owner)

/** The live owner of the folder, if any (not this process). */
export const liveOwner = (dataDir: string): Owner | undefined => {
  const owner = read(dataDir)
  return owner !== undefined && !isMe(owner) && alive(owner) ? owner : undefined
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Server {
  readonly url: string
  readonly socket: string
}

const me = (id: string, server: Server | null): string =>
  JSON.stringify({ pid: process.pid, started: startTime(process.pid), ...here, id, heartbeat: Date.now(), url: server?.url ?? null, socket: server?.socket ?? null })

/**
 * Takes the folder's lock, or answers the live owner. A lock file that names a process that
 * is not alive (or this one, left by an earlier open) is stale and taken over; one that cannot
 * be read yet (its owner is writing it) is read again for up to a second before it counts as stale.
 */
export const acquire = async (dataDir: string): Promise<{ readonly held: Held } | { readonly owner: Owner }> => {
  const file = join(dataDir, LOCK_FILE)
  const takeover = `${file}.takeover`
  const id = randomUUID()
  for (let attempt = 0;; attempt++) {
    try {
      writeFileSync(file, me(id, null), { flag: "wx", mode: 0o600 })
      return { held: hold(file, id) }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const current = (() => {
      try {
        return readFileSync(file, "utf8")
      } catch {
        return undefined // removed meanwhile: try again
      }
    })()
    if (current === undefined) continue
    const owner = parse(current)
    if (owner !== undefined && !isMe(owner)) {
      if (local(owner)) {
        if (pidAlive(owner.pid, owner.started)) return { owner }
      } else {
        const seen = await watch(file, owner)
        if (seen === "changed") continue
        if (seen === "alive") return { owner: parse(readFileSync(file, "utf8")) ?? owner }
      }
    }
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
      if (readFileSync(file, "utf8") === current) unlinkSync(file)
    } catch {
      // already gone
    } finally {
      rmdirSync(takeover)
    }
  }
}

const hold = (file: string, id: string): Held => {
  let released = false
  let server: Server | null = null
  const mine = () => {
    try {
      return parse(readFileSync(file, "utf8"))?.id === id
    } catch {
      return false
    }
  }
  const write = () => {
    const next = `${file}.${randomUUID()}.tmp`
    writeFileSync(next, me(id, server), { mode: 0o600 })
    renameSync(next, file)
  }
  const releaseSync = () => {
    if (released) return
    released = true
    process.removeListener("exit", releaseSync)
    try {
      if (mine()) unlinkSync(file)
    } catch {
      // gone already
    }
  }
  process.once("exit", releaseSync)
  return {
    publish: (published) => {
      server = published
      write()
    },
    beat: () => {
      if (released || !mine()) return false
      write()
      return true
    },
    release: releaseSync
  }
}
