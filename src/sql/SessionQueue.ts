/**
 * The scheduler of the embedded database's one Postgres session (PGlite), for
 * `EmbeddedServer`'s connections: each hands it whole messages under an id of its own, and
 * the session belongs to one connection from its first message until PGlite answers
 * `ReadyForQuery` idle, so every exchange and every transaction runs whole.
 */
import type { PGlite } from "@electric-sql/pglite"

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
export class SessionQueue {
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
