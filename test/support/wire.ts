/**
 * A loopback proxy in front of a Postgres server that counts the statements clients execute,
 * read off the wire protocol itself: every simple `Query`, and every extended-protocol
 * `Execute` (which a cached prepared statement still needs). Exact for any client, any server.
 */
import net from "node:net"

export interface Statement {
  readonly text: string
  readonly write: boolean
  /** Its parameters' bytes as sent (text or binary format, as the client chose). */
  readonly params: ReadonlyArray<Buffer | null>
}

export interface WireCounter {
  /** The same URL, pointed at the proxy. */
  readonly url: string
  /** Statements executed since the last `reset`. */
  statements(): ReadonlyArray<Statement>
  reset(): void
  close(): Promise<void>
}

const WRITE = /^\s*(?:insert|update|delete|merge|create|alter|drop|truncate)\b|\b(?:insert\s+into|update\s+"?\w+"?(?:\s+(?:as\s+)?"?\w+"?)?\s+set|delete\s+from)\b/i
const cstring = (buf: Buffer, at: number): [string, number] => {
  const end = buf.indexOf(0, at)
  return [buf.toString("utf8", at, end), end + 1]
}

export const countStatements = async (targetUrl: string): Promise<WireCounter> => {
  const target = new URL(targetUrl)
  let seen: Array<Statement> = []
  const sockets = new Set<net.Socket>()

  const server = net.createServer((client) => {
    // The embedded database's URL names its Unix socket's folder as `host` (libpq's form).
    const socketDir = target.searchParams.get("host")
    const upstream = socketDir?.startsWith("/")
      ? net.connect(`${socketDir}/.s.PGSQL.${target.port || 5432}`)
      : net.connect(Number(target.port || 5432), target.hostname)
    sockets.add(client).add(upstream)
    const parsed = new Map<string, string>()
    const portals = new Map<string, { readonly text: string; readonly params: ReadonlyArray<Buffer | null> }>()
    let startup = true
    let pending = Buffer.alloc(0)

    const record = (text: string, params: ReadonlyArray<Buffer | null> = []) => seen.push({ text, write: WRITE.test(text), params })
    /** Bind's parameter values, after its format codes. */
    const bindParams = (body: Buffer, at: number): Array<Buffer | null> => {
      at += 2 + 2 * body.readInt16BE(at)
      const count = body.readInt16BE(at)
      at += 2
      const params: Array<Buffer | null> = []
      for (let i = 0; i < count; i++) {
        const length = body.readInt32BE(at)
        at += 4
        params.push(length < 0 ? null : Buffer.from(body.subarray(at, at + length)))
        at += Math.max(length, 0)
      }
      return params
    }

    client.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      for (;;) {
        if (startup) {
          if (pending.length < 8) break
          const length = pending.readInt32BE(0)
          if (pending.length < length) break
          if (pending.readInt32BE(4) === 196608) startup = false
          pending = pending.subarray(length)
          continue
        }
        if (pending.length < 5) break
        const type = String.fromCharCode(pending[0]!)
        const length = pending.readInt32BE(1)
        if (pending.length < length + 1) break
        const body = pending.subarray(5, length + 1)
        if (type === "Q") record(cstring(body, 0)[0])
        else if (type === "P") {
          const [name, next] = cstring(body, 0)
          parsed.set(name, cstring(body, next)[0])
        } else if (type === "B") {
          const [portal, next] = cstring(body, 0)
          const [statement, after] = cstring(body, next)
          portals.set(portal, { text: parsed.get(statement) ?? "", params: bindParams(body, after) })
        } else if (type === "E") {
          const portal = portals.get(cstring(body, 0)[0])
          record(portal?.text ?? "", portal?.params)
        }
        pending = pending.subarray(length + 1)
      }
      upstream.write(chunk)
    })
    upstream.on("data", (chunk) => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo
  const url = new URL(targetUrl)
  url.hostname = "127.0.0.1"
  url.port = String(port)
  url.searchParams.delete("host")

  return {
    url: url.toString(),
    statements: () => seen,
    reset: () => {
      seen = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
