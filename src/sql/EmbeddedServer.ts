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

interface Pending {
  readonly handlerId: number
  readonly message: Uint8Array
  readonly onData: (data: Uint8Array) => void
  readonly resolve: (bytes: number) => void
  readonly reject: (error: unknown) => void
}

/** ReadyForQuery: 'Z', length 5, then the transaction status ('I' idle, 'T' in a transaction, 'E' failed). */
const READY = [0x5a, 0, 0, 0, 5]
const IDLE = 0x49

/** How long a connection may hold the session idle (in a transaction, or mid-exchange) before it is dropped. */
export const IDLE_LIMIT_MS = 10_000

/**
 * The scheduler of the one session: every connection, by socket or in-process, hands it its
 * messages under an id of its own. A connection that holds the session (inside a transaction,
 * or between the messages of one exchange) and sends nothing for `idleLimitMs` is dropped: its
 * transaction is rolled back and the others go on, as `idle_in_transaction_session_timeout`
 * would on a server.
 */
class SessionQueue {
  private queue: Array<Pending> = []
  private owner: number | null = null
  private running = false
  private idle: { readonly handlerId: number; readonly timer: ReturnType<typeof setTimeout> } | undefined
  private readonly drops = new Map<number, () => void>()
  private readonly db: PGlite
  private readonly idleLimitMs: number

  constructor(db: PGlite, idleLimitMs: number) {
    this.db = db
    this.idleLimitMs = idleLimitMs
  }

  /** How to drop this connection when it holds the session idle too long. */
  register(handlerId: number, drop: () => void) {
    this.drops.set(handlerId, drop)
  }

  private stopped = false

  /** The server is stopping: nothing more reaches the session (a leaving connection's reset included). */
  stop() {
    this.stopped = true
    this.disarm()
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    if (this.stopped) return Promise.reject(new Error("Server stopping"))
    return new Promise((resolve, reject) => {
      if (this.idle?.handlerId === handlerId) this.disarm()
      this.queue.push({ handlerId, message, onData, resolve, reject })
      void this.pump()
    })
  }

  private disarm() {
    if (this.idle !== undefined) clearTimeout(this.idle.timer)
    this.idle = undefined
  }

  /** The owner sent nothing more: drop it after the limit, unless it speaks or lets go first. */
  private arm(handlerId: number) {
    if (this.idle?.handlerId === handlerId) return
    this.disarm()
    const timer = setTimeout(() => {
      this.idle = undefined
      if (this.owner !== handlerId || this.queue.some((item) => item.handlerId === handlerId)) return
      this.drops.get(handlerId)?.() // its close rolls the transaction back and releases the session
    }, this.idleLimitMs)
    timer.unref()
    this.idle = { handlerId, timer }
  }

  clearQueueForHandler(handlerId: number) {
    this.drops.delete(handlerId)
    this.queue = this.queue.filter((item) => {
      if (item.handlerId !== handlerId) return true
      item.reject(new Error("Handler disconnected"))
      return false
    })
  }

  async clearTransactionIfNeeded(handlerId: number) {
    if (this.owner !== handlerId) return
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK")
    this.owner = null
    this.disarm()
    await this.pump()
  }

  private async pump() {
    if (this.running) return
    this.running = true
    try {
      for (;;) {
        const index = this.owner === null ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner)
        const item = index === -1 ? undefined : this.queue[index]
        if (item === undefined) {
          if (this.owner !== null) this.arm(this.owner)
          return
        }
        this.queue.splice(index, 1)
        this.owner = item.handlerId
        let tail: Array<number> = []
        let bytes = 0
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length
                tail = [...tail, ...data.subarray(-6)].slice(-6)
                item.onData(data)
              }
            })
          )
        } catch (error) {
          item.reject(error)
          continue
        }
        if (tail.length === 6 && READY.every((b, i) => tail[i] === b) && tail[5] === IDLE) {
          this.owner = null
          this.disarm()
        }
        item.resolve(bytes)
      }
    } finally {
      this.running = false
    }
  }
}

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
  if (path.length > MAX_SOCKET_PATH) throw new Error(`fusion-auth: the socket path ${path} is longer than ${MAX_SOCKET_PATH} characters`)
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
