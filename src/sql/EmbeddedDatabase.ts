/**
 * The embedded database's lifecycle, as one scoped effect: the folder's lock, the upgrade of a
 * folder an earlier release wrote (`EmbeddedUpgrade`; PostgreSQL's files are in `pgdata/`),
 * PGlite, the server on a Unix socket only the folder's user can reach, and the lock's
 * heartbeat; all of it undone, in reverse, when the scope closes.
 *
 * Who can connect: the socket is `<dataDir>/.s.PGSQL.5432`, and the folder is made private
 * to its user (mode 0700), so only that user (and root) can reach it: `psql -h <dataDir>`.
 * Where the folder cannot be made private (a file system without Unix modes) or its path is
 * too long for a socket, the socket goes in a new private folder under the system's temporary
 * folder instead, named in the lock. Nothing listens on a network address.
 */
import type { PGlite } from "@electric-sql/pglite"
import { chmod, mkdir, mkdtemp, rm, stat } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Duplex } from "node:stream"
import { Data, Effect, Schedule, type Scope } from "effect"
import { background } from "../runtime/Background.ts"
import * as EmbeddedLock from "./EmbeddedLock.ts"
import * as EmbeddedUpgrade from "./EmbeddedUpgrade.ts"
import { LineError } from "./LineError.ts"
import { MAX_SOCKET_PATH, serve, socketPath } from "./EmbeddedServer.ts"

/** `dataDir` for an embedded database that lives in memory and keeps nothing (tests). */
export const MEMORY = "memory://"

/** The folder is another live process's; carries that owner (the CLI then connects through it). */
export class EmbeddedDatabaseOwned extends Data.TaggedError("EmbeddedDatabaseOwned")<{
  readonly dataDir: string
  readonly owner: EmbeddedLock.Owner
}> {}

/** The embedded database could not be opened or served: the folder, PGlite, or the socket. A tagged error that prints as one line. */
export class EmbeddedDatabaseError extends LineError("EmbeddedDatabaseError") {
  declare readonly dataDir: string
  declare readonly step: string
  constructor(args: { readonly dataDir: string; readonly step: string; readonly cause: unknown }) {
    const reason = args.cause instanceof Error ? args.cause.message : String(args.cause)
    super(`fusion-auth: cannot ${args.step} the embedded database in ${args.dataDir}: ${reason}`, { dataDir: args.dataDir, step: args.step }, { cause: args.cause })
  }
}

export interface Embedded {
  /** A connection URL for other processes of the same user: the socket's folder as `host`. */
  readonly url: string
  /** A new connection in this process, with no socket. */
  readonly connect: () => Duplex
}

export interface EmbeddedOptions {
  /** How long one connection may hold the database idle in a transaction (ms; default 10 s). */
  readonly idleLimitMs?: number | undefined
}

const attempt = <A>(dataDir: string, step: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (cause) => new EmbeddedDatabaseError({ dataDir, step, cause }) })

/**
 * The folder the socket goes in: the data folder, made private; else a private temporary
 * folder (removed with the scope).
 */
const socketFolder = (dataDir: string) =>
  Effect.gen(function*() {
    const privateToOwner = yield* Effect.promise(() =>
      chmod(dataDir, 0o700).then(() => stat(dataDir)).then((s) => (s.mode & 0o077) === 0, () => false)
    )
    if (privateToOwner && Buffer.byteLength(socketPath(dataDir)) <= MAX_SOCKET_PATH) return dataDir
    yield* Effect.logWarning(
      privateToOwner
        ? `fusion-auth: ${dataDir} is too long a path for a socket; serving the embedded database from a private temporary folder`
        : `fusion-auth: ${dataDir} cannot be made private to its user (mode 0700); serving the embedded database from a private temporary folder`
    )
    return yield* Effect.acquireRelease(
      attempt(dataDir, "make a socket folder for", () => mkdtemp(join(tmpdir(), "fusion-auth-"))),
      (folder) => Effect.promise(() => rm(folder, { recursive: true, force: true }))
    )
  })

/** PGlite on `pgdata` (PostgreSQL's files, `EmbeddedUpgrade.PGDATA` in the folder), or in memory. */
const open = (dataDir: string, pgdata: string | undefined) =>
  Effect.acquireRelease(
    attempt(dataDir, "open", () =>
      import("@electric-sql/pglite").then(({ PGlite }) => (pgdata === undefined ? PGlite.create() : PGlite.create({ dataDir: pgdata })))),
    (db: PGlite) => Effect.promise(() => db.close())
  )

const served = (db: PGlite, dataDir: string, socketDir: string | undefined, options: EmbeddedOptions) =>
  Effect.acquireRelease(
    attempt(dataDir, "serve", () => serve(db, { socketDir, idleLimitMs: options.idleLimitMs })),
    (server) => Effect.promise(() => server.stop())
  )

/** Where PostgreSQL's files are, once a folder of an earlier release's is upgraded (`EmbeddedUpgrade`). */
const upgraded = (dataDir: string) =>
  Effect.gen(function*() {
    const plan = yield* attempt(dataDir, "read", () => EmbeddedUpgrade.plan(dataDir))
    const earlier = plan.earlier
    if (earlier === undefined) return plan.pgdata
    if (earlier.restorer !== undefined) {
      yield* Effect.logInfo(`fusion-auth: upgrading the embedded database in ${dataDir} from PostgreSQL ${earlier.version} (an earlier release's); its files will be kept in ${earlier.backup}`)
    }
    yield* attempt(dataDir, "upgrade", () => EmbeddedUpgrade.upgrade(dataDir, plan))
    if (earlier.restorer !== undefined) yield* Effect.logInfo(`fusion-auth: the embedded database in ${dataDir} is upgraded`)
    return plan.pgdata
  })

/** The lock's heartbeat, renewed for as long as the scope lives; it never keeps the process alive by itself (`background`). */
const heartbeat = (dataDir: string, held: EmbeddedLock.Held) =>
  Effect.try(() => held.beat()).pipe(
    Effect.flatMap((mine) =>
      mine ? Effect.void : Effect.logError(`fusion-auth: the lock of ${dataDir} is no longer this process's; stop the other process that took it`)
    ),
    // A beat that could not be written (a full disk) is tried again at the next one.
    Effect.catch((error) => Effect.logWarning(`fusion-auth: the lock of ${dataDir} could not be renewed: ${String(error.cause)}`)),
    Effect.repeat(Schedule.spaced(EmbeddedLock.HEARTBEAT_MS)),
    background,
    Effect.forkScoped
  )

/**
 * Opens the embedded database in `dataDir` (`MEMORY`: in memory, nothing kept) and serves it
 * for as long as the scope lives. Fails with `EmbeddedDatabaseOwned` when another live process
 * owns the folder.
 */
export const make = (
  dataDir: string,
  options: EmbeddedOptions = {}
): Effect.Effect<Embedded, EmbeddedDatabaseOwned | EmbeddedDatabaseError, Scope.Scope> =>
  Effect.gen(function*() {
    if (dataDir === MEMORY) {
      const server = yield* served(yield* open(dataDir, undefined), dataDir, undefined, options)
      return { url: server.url, connect: server.connect }
    }
    yield* attempt(dataDir, "create the folder of", () => mkdir(dataDir, { recursive: true, mode: 0o700 }))
    const lock = yield* Effect.acquireRelease(
      attempt(dataDir, "lock", () => EmbeddedLock.acquire(dataDir)),
      (lock) => Effect.sync(() => ("held" in lock ? lock.held.release() : undefined))
    )
    if ("owner" in lock) return yield* new EmbeddedDatabaseOwned({ dataDir, owner: lock.owner })
    // Beating from the start: opening a new folder (initdb) can take longer than a heartbeat's life.
    yield* heartbeat(dataDir, lock.held)
    const pgdata = yield* upgraded(dataDir)
    const socketDir = yield* socketFolder(dataDir)
    const server = yield* served(yield* open(dataDir, pgdata), dataDir, socketDir, options)
    yield* attempt(dataDir, "mark", () => EmbeddedUpgrade.mark(dataDir))
    lock.held.publish({ url: server.url, socket: socketDir === dataDir ? "." : socketDir })
    return { url: server.url, connect: server.connect }
  })
