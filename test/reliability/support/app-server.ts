/**
 * A small app process for the reliability suites, wired exactly as the README's "Use it":
 * Better Auth on `betterAuthDatabase()`, the `fusionAuth()` plugin, `createAuthSession(auth)`.
 * Run it with Node (≥ 22.19, type stripping) as a child process:
 *
 *   DATABASE_URL=… PORT=… COOKIE_CACHE=on|off INSTANCE=a node test/reliability/support/app-server.ts
 *
 * Routes, like the example app's:
 * - `GET /api/me`     the caller as JSON (`resolve`): 200, or fusion-auth's 401; 500 when resolution fails.
 * - `GET /dashboard`  a page behind `requireSession`: 200, or the thrown redirect/401; 500 on failure.
 * - `/api/auth/*`     Better Auth's own handler (sign-up, sign-in).
 * - `GET /health`     200 with no database work.
 * - `GET /debug/memory` with RELIABILITY_DEBUG=1 only: `process.memoryUsage()`, after a full GC
 *   when the process runs with --expose-gc.
 *
 * Each pool names itself to Postgres (`application_name` `<instance>-better-auth` and
 * `<instance>-fusion-auth`), so a test can count and kill one pool's connections.
 * On stdout: one line `listening <port>` once migrations (MIGRATE=1) are done and the port is open.
 */
import { betterAuth } from "better-auth"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { betterAuthDatabase, createAuthSession, fusionAuth } from "../../../src/index.ts"
import { errorResponse } from "../../../src/effect.ts"
import { testPassword } from "../../support/password.ts"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined || value === "") throw new Error(`${name} is required`)
  return value
}

const instance = env("INSTANCE", "app")
const port = Number(env("PORT"))
const base = env("DATABASE_URL")
const withName = (name: string) => {
  const url = new URL(base)
  url.searchParams.set("application_name", name)
  return url.toString()
}

const auth = betterAuth({
  database: betterAuthDatabase({ url: withName(`${instance}-better-auth`) }),
  secret: env("BETTER_AUTH_SECRET", "reliability-secret-reliability-secret-0123"),
  baseURL: `http://127.0.0.1:${port}`,
  trustedOrigins: ["http://127.0.0.1:*", "http://localhost:*"],
  telemetry: { enabled: false },
  logger: { disabled: true },
  emailAndPassword: { enabled: true, password: testPassword },
  // Better Auth's limiter (3 sign-ups per 10 s in production) guards only its own handler; tests sign several users up.
  rateLimit: { enabled: false },
  session: { cookieCache: { enabled: process.env.COOKIE_CACHE === "on", maxAge: 300 } },
  plugins: [fusionAuth()]
})

const app = createAuthSession(auth, { database: { url: withName(`${instance}-fusion-auth`) } })

const toRequest = async (req: IncomingMessage): Promise<Request> => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v)
  }
  const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`)
  const method = req.method ?? "GET"
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers })
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return new Request(url, { method, headers, body: Buffer.concat(chunks) })
}

const send = async (response: Response, res: ServerResponse) => {
  const headers: Array<[string, string]> = []
  response.headers.forEach((value, name) => name !== "set-cookie" && headers.push([name, value]))
  for (const cookie of response.headers.getSetCookie()) headers.push(["set-cookie", cookie])
  res.writeHead(response.status, headers.flat())
  res.end(Buffer.from(await response.arrayBuffer()))
}

/** What a failed resolution answers: a 500 naming the error's class, nothing else. */
const failed = (error: unknown) =>
  Response.json({ error: "internal", name: error instanceof Error ? error.name : typeof error }, { status: 500 })

const handle = async (request: Request): Promise<Response> => {
  const { pathname } = new URL(request.url)
  if (pathname.startsWith("/api/auth/")) return auth.handler(request)
  if (pathname === "/health") return Response.json({ ok: true, instance, pid: process.pid })
  if (pathname === "/debug/memory" && process.env.RELIABILITY_DEBUG === "1") {
    ;(globalThis as { gc?: () => void }).gc?.()
    return Response.json(process.memoryUsage())
  }
  if (pathname === "/api/me") {
    const result = await app.resolve(request)
    if ("error" in result) return errorResponse(result.error)
    const { user, session } = result.session
    return Response.json({ id: user.id, email: user.email, via: session === null ? "token" : "cookie", instance })
  }
  if (pathname === "/dashboard") {
    try {
      const { user } = await app.requireSession(request)
      return new Response(`<h1>Dashboard of ${user.id}</h1>`, { headers: { "content-type": "text/html" } })
    } catch (thrown) {
      if (thrown instanceof Response) return thrown
      // TanStack's redirect() is a Response too; anything else is a failure.
      throw thrown
    }
  }
  return new Response("Not found", { status: 404 })
}

let failures = 0
const server = createServer(async (req, res) => {
  let response: Response
  try {
    response = await handle(await toRequest(req))
  } catch (error) {
    failures++
    response = failed(error)
  }
  try {
    await send(response, res)
  } catch {
    res.destroy()
  }
})
server.keepAliveTimeout = 30_000

if (process.env.MIGRATE === "1") await app.migrate()
server.listen(port, "127.0.0.1", () => console.log(`listening ${port}`))

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  server.close()
  server.closeAllConnections()
  console.log(`failures ${failures}`)
  await app.dispose()
  process.exit(0)
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
