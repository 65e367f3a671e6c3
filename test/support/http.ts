/** A fetch handler behind a real HTTP listener on 127.0.0.1, for clients that speak HTTP (Better Auth's `createAuthClient`). */
import { createServer } from "node:http"

export interface Served {
  readonly url: string
  close(): Promise<void>
}

export const serve = (handler: (request: Request) => Promise<Response>): Promise<Served> =>
  new Promise((resolve) => {
    const server = createServer(async (req, res) => {
      const chunks: Array<Buffer> = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const headers = new Headers()
      for (const [name, value] of Object.entries(req.headers)) {
        for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v)
      }
      const method = req.method ?? "GET"
      const body = method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) }
      try {
        const response = await handler(new Request(`http://${req.headers.host}${req.url}`, { method, headers, ...body }))
        const out: Array<[string, string]> = []
        response.headers.forEach((value, name) => name !== "set-cookie" && out.push([name, value]))
        for (const cookie of response.headers.getSetCookie()) out.push(["set-cookie", cookie])
        res.writeHead(response.status, out.flat())
        res.end(Buffer.from(await response.arrayBuffer()))
      } catch (error) {
        res.writeHead(500, { "content-type": "text/plain" })
        res.end(String((error as Error).message))
      }
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections()
          server.close(() => done())
        })
      })
    })
  })
