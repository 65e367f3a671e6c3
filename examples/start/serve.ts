/**
 * Serves the production build (`vite build` → dist/) on Node: files from dist/client, every
 * other request through the built TanStack Start server entry. Migrations run before the
 * port opens; SIGINT/SIGTERM close the database cleanly.
 *
 *   PORT=3000 HOST=127.0.0.1 node examples/start/serve.ts
 */
import { createReadStream, existsSync, statSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { extname, join, normalize, sep } from "node:path"
import { Readable } from "node:stream"
import { pathToFileURL } from "node:url"

process.env.NODE_ENV ??= "production"
const dist = join(import.meta.dirname, "dist")
const client = join(dist, "client")
const entry = join(dist, "server", "server.js")
if (!existsSync(entry)) {
  console.error(`No production build at ${dist}. Build it first: npm run build:example`)
  process.exit(1)
}

interface ServerEntry {
  readonly default: { fetch(request: Request): Promise<Response> }
  readonly ready: () => Promise<void>
  readonly shutdown: () => Promise<void>
}
const app = (await import(pathToFileURL(entry).href)) as ServerEntry

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2"
}

/** A file of dist/client for this path, if there is one (never outside that folder). */
const staticFile = (pathname: string): string | undefined => {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return undefined
  }
  const file = normalize(join(client, decoded))
  if (!file.startsWith(client + sep)) return undefined
  return existsSync(file) && statSync(file).isFile() ? file : undefined
}

const toRequest = (req: IncomingMessage): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v)
  }
  const method = req.method ?? "GET"
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`)
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers })
  return new Request(url, { method, headers, body: Readable.toWeb(req) as ReadableStream, duplex: "half" } as RequestInit)
}

const send = async (response: Response, res: ServerResponse): Promise<void> => {
  const headers: Array<[string, string]> = []
  response.headers.forEach((value, name) => name !== "set-cookie" && headers.push([name, value]))
  for (const cookie of response.headers.getSetCookie()) headers.push(["set-cookie", cookie])
  res.writeHead(response.status, response.statusText || undefined, headers.flat())
  if (response.body === null) return void res.end()
  await new Promise<void>((resolve, reject) =>
    Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res).on("finish", resolve).on("error", reject)
  )
}

const server = createServer(async (req, res) => {
  try {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname
    const file = (req.method === "GET" || req.method === "HEAD") ? staticFile(pathname) : undefined
    if (file !== undefined) {
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": pathname.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache"
      })
      if (req.method === "HEAD") return void res.end()
      return void createReadStream(file).pipe(res)
    }
    await send(await app.default.fetch(toRequest(req)), res)
  } catch (error) {
    console.error("request failed:", error instanceof Error ? error.message : error)
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" })
    res.end("Internal Server Error")
  }
})

const port = Number(process.env.PORT ?? 3000)
const host = process.env.HOST ?? "127.0.0.1"
await app.ready()
server.listen(port, host, () => {
  console.log(`fusion-auth example (production build) ready: open http://${host}:${port}/signup (the first account becomes the site admin)`)
})
server.on("error", (error) => {
  console.error(`Cannot listen on ${host}:${port}: ${error.message}`)
  process.exit(1)
})

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  server.close()
  server.closeAllConnections()
  await app.shutdown()
  process.exit(0)
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
