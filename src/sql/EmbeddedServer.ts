/**
 * PGlite served to many connections: on a Unix socket in a folder only its user can enter
 * (other processes of that user, Better Auth's `pg` pool), and in-process (`connect()`: a
 * stream for `@effect/sql-pg`'s `stream` option, so the process that owns the database
 * reaches it with no socket and no system call). Nothing listens on a network address: the
 * socket's folder (mode 0700) is the door, as a server's `unix_socket_permissions` would be.
 *
 * PGlite is one Postgres session. Handed to many clients message by message (as
 * `@electric-sql/pglite-socket` does), two pooled connections could interleave inside one
 * extended-protocol exchange (one client's `Parse` replacing another's unnamed statement) or
 * inside a transaction. Here the session belongs to one connection from its first message until PGlite answers
 * `ReadyForQuery` idle: every exchange and every transaction runs whole, as on a server,
 * whichever way each connection arrived.
 */
import type { PGlite } from "@electric-sql/pglite"
import { chmodSync, mkdtempSync, rmSync, unlinkSync } from "node:fs"
import { createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Duplex, duplexPair } from "node:stream"
import { IDLE_LIMIT_MS, SessionQueue } from "./SessionQueue.ts"

/** Request codes of the untyped messages a client may send before its startup message. */
const SSL_REQUEST = 80877103
const GSSENC_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
/** Terminate ('X'): the client is leaving (the session is not PGlite's to end). */
const TERMINATE = 0x58
/** Parse ('P') names a statement; Close ('C') of a statement ('S') forgets one. */
const PARSE = 0x50
const CLOSE = 0x43
const STATEMENT = 0x53

/** The NUL-terminated name at `at` (a statement name never holds a NUL). */
const cString = (buffer: Buffer, at: number, end: number): string => {
  const nul = buffer.indexOf(0, at)
  return buffer.toString("utf8", at, nul === -1 || nul > end ? end : nul)
}

const message = (type: string, body: Buffer): Buffer => {
  const header = Buffer.alloc(5)
  header.write(type, 0, "latin1")
  header.writeInt32BE(4 + body.length, 1)
  return Buffer.concat([header, body])
}

/**
 * What a leaving connection changed in the one session, undone as a pooler's `DISCARD ALL`
 * would for its server connection: a `Close` of each statement it prepared (by the protocol,
 * so any name is closed exactly, with no SQL built from it), then `RESET ALL` for its settings.
 * Temporary tables, cursors and listens are left alone: they are the whole session's.
 */
export const resetMessages = (statements: Iterable<string>): Uint8Array =>
  Buffer.concat([
    ...[...statements].map((name) => message("C", Buffer.concat([Buffer.from("S"), Buffer.from(name), Buffer.alloc(1)]))),
    message("S", Buffer.alloc(0)),
    message("Q", Buffer.from("RESET ALL\0"))
  ])
/** Longer than any message fusion-auth sends: the connection is dropped. */
const MAX_MESSAGE = 64 * 1024 * 1024

/**
 * One connection, a socket's or an in-process stream's: a TLS request answered "N", its
 * startup message, then `type + length` messages. Whatever whole messages it has sent go to the
 * session at once, and PGlite's answer comes back in one write.
 */
const serveConnection = (queue: SessionQueue, stream: Duplex, id: number) => {
  let buffered: Buffer = Buffer.alloc(0)
  let started = false
  let work = Promise.resolve() // this connection's exchanges, in order
  let closed = false
  const prepared = new Set<string>()
  const close = () => {
    if (closed) return
    closed = true
    stream.destroy()
    queue.clearQueueForHandler(id)
    // After what it already handed over: its turn, and a transaction it left open, are
    // released; then what it changed in the session is reset (once the session is free).
    const reset = started ? resetMessages(prepared) : undefined
    work = work
      .then(() => queue.clearTransactionIfNeeded(id))
      .then(() => (reset === undefined ? undefined : queue.enqueue(id, reset, () => undefined).then(() => undefined)))
      .catch(() => undefined)
  }
  queue.register(id, close)
  const reply = (data: Uint8Array) => {
    if (stream.destroyed) return
    stream.cork()
    stream.write(Buffer.from(data))
    process.nextTick(() => stream.uncork())
  }
  stream.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    let whole = 0
    let terminated = false
    for (;;) {
      const header = started ? 5 : 8
      if (buffered.length - whole < header) break
      const length = started ? 1 + buffered.readInt32BE(whole + 1) : buffered.readInt32BE(whole)
      if (length < header || length > MAX_MESSAGE) return close()
      if (buffered.length - whole < length) break
      if (started && buffered[whole] === TERMINATE) {
        terminated = true
        break
      }
      if (started && buffered[whole] === PARSE) {
        const name = cString(buffered, whole + 5, whole + length)
        if (name !== "") prepared.add(name)
      } else if (started && buffered[whole] === CLOSE && buffered[whole + 5] === STATEMENT) {
        prepared.delete(cString(buffered, whole + 6, whole + length))
      }
      if (!started) { // nothing precedes these: `whole` is 0
        const code = buffered.readInt32BE(4)
        if (code === CANCEL_REQUEST) return close()
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          stream.write("N") // no TLS in-process
          buffered = buffered.subarray(length)
          continue
        }
        started = true
      }
      whole += length
    }
    if (whole > 0) {
      // A copy: the writer may reuse its buffer once this side has read it.
      const messages = new Uint8Array(buffered.subarray(0, whole))
      buffered = buffered.subarray(whole)
      work = work.then(() => (closed ? undefined : queue.enqueue(id, messages, reply).then(() => undefined))).catch(close)
    }
    if (terminated) close()
  })
  stream.on("error", close)
  stream.on("end", close)
  stream.on("close", close)
}

export interface EmbeddedServer {
  readonly url: string
  /** A new connection in this process, for `@effect/sql-pg`'s `stream` option. */
  connect(): Duplex
  stop(): Promise<void>
}

export interface ServeOptions {
  /**
   * The folder to listen in, as `<folder>/.s.PGSQL.5432` (libpq's name, so `psql -h <folder>`
   * reaches it). It must be the owner's alone (mode 0700): that is the only door. Default: a
   * new private folder in the system's temporary folder, removed on stop.
   */
  readonly socketDir?: string | undefined
  readonly maxConnections?: number | undefined
  /** How long a connection may hold the session idle before it is dropped (default `IDLE_LIMIT_MS`, 10 s). */
  readonly idleLimitMs?: number | undefined
}

/** The longest Unix socket path Linux and macOS accept (`sun_path`, less its NUL). */
export const MAX_SOCKET_PATH = 103

/** The socket libpq and `pg` derive from a folder and the default port. */
export const socketPath = (folder: string): string => join(folder, ".s.PGSQL.5432")

/** A connection URL for `pg`, `@effect/sql-pg` and `psql`: the socket's folder as `host`, database `postgres`. */
export const socketUrl = (folder: string): string => `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(folder)}`

/** Serves `db` on a Unix socket in `socketDir` (see `ServeOptions`); the URL names database `postgres`. */
export const serve = async (db: PGlite, options: ServeOptions = {}): Promise<EmbeddedServer> => {
  const own = options.socketDir === undefined ? mkdtempSync(join(tmpdir(), "fusion-auth-")) : undefined
  const folder = options.socketDir ?? own!
  const path = socketPath(folder)
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new Error(`fusion-auth: the socket path ${path} is longer than ${MAX_SOCKET_PATH} characters`)
  try {
    unlinkSync(path) // left by an owner that died: the folder's lock is this process's now
  } catch {
    // none
  }
  const queue = new SessionQueue(db, options.idleLimitMs ?? IDLE_LIMIT_MS)
  const connections = new Set<Duplex>()
  let ids = 0
  const track = (stream: Duplex) => {
    connections.add(stream)
    stream.on("close", () => connections.delete(stream))
    serveConnection(queue, stream, ++ids)
  }
  const server = createServer({ noDelay: true }, (socket: Socket) => track(socket))
  server.maxConnections = options.maxConnections ?? 64
  const removeOwn = () => {
    if (own !== undefined) rmSync(own, { recursive: true, force: true })
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen({ path, exclusive: true }, () => {
      server.off("error", reject)
      resolve()
    })
  }).catch((error: unknown) => {
    removeOwn()
    throw error
  })
  chmodSync(path, 0o600)
  // Listening never keeps the process alive by itself (src/runtime/Background.ts); a connection it serves does.
  server.unref()
  return {
    url: socketUrl(folder),
    connect: () => {
      const [client, end] = duplexPair()
      track(end)
      return client
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      queue.stop()
      for (const stream of connections) stream.destroy()
      await closed
      removeOwn()
    }
  }
}
