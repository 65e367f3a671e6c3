/**
 * PGlite served on loopback by `@electric-sql/pglite-socket`, made safe for a pool.
 *
 * PGlite is one Postgres session. pglite-socket multiplexes its clients onto it message by
 * message, so two pooled connections can interleave inside one extended-protocol exchange
 * (one client's `Parse` replacing another's unnamed statement) or inside a transaction.
 * Here the session belongs to one connection from its first message until PGlite answers
 * `ReadyForQuery` idle: every exchange and every transaction runs whole, as on a server.
 */
import type { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"

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

/** The scheduler pglite-socket calls (`enqueue`, `clearQueueForHandler`, `clearTransactionIfNeeded`, `getQueueLength`). */
class SessionQueue {
  private queue: Array<Pending> = []
  private owner: number | null = null
  private running = false
  private readonly db: PGlite

  constructor(db: PGlite) {
    this.db = db
  }

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject })
      void this.pump()
    })
  }

  getQueueLength() {
    return this.queue.length
  }

  clearQueueForHandler(handlerId: number) {
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
    await this.pump()
  }

  private async pump() {
    if (this.running) return
    this.running = true
    try {
      for (;;) {
        const index = this.owner === null ? 0 : this.queue.findIndex((item) => item.handlerId === this.owner)
        const item = index === -1 ? undefined : this.queue[index]
        if (item === undefined) return
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
        if (tail.length === 6 && READY.every((b, i) => tail[i] === b) && tail[5] === IDLE) this.owner = null
        item.resolve(bytes)
      }
    } finally {
      this.running = false
    }
  }
}

export interface EmbeddedServer {
  readonly url: string
  stop(): Promise<void>
}

/** Serves `db` on 127.0.0.1 at a free port (or `port`); the URL names database `postgres`. */
export const serve = async (db: PGlite, options: { readonly port?: number; readonly maxConnections?: number } = {}): Promise<EmbeddedServer> => {
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: options.port ?? 0, maxConnections: options.maxConnections ?? 64 })
  // pglite-socket 0.2 hands this scheduler to every connection it accepts.
  ;(server as unknown as { queryQueue: SessionQueue }).queryQueue = new SessionQueue(db)
  await server.start()
  return { url: `postgres://postgres@${server.getServerConn()}/postgres`, stop: () => server.stop() }
}
