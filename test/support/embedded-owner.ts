/**
 * An app process that owns an embedded data folder, for tests: Better Auth on
 * `betterAuthDatabase()` and `createAuthSession(auth)` with no `DATABASE_URL`, as a user's app
 * runs them. It migrates, signs up `ada@example.com` once (keeping her cookie to itself), and
 * answers `GET /whoami` (the caller's own headers) and `GET /whoami/cookie` (Ada's browser
 * cookie) with the resolved session. It prints one JSON line, `{ "pid", "url", "userId" }`,
 * when it serves; SIGTERM disposes everything and exits.
 *
 *   node test/support/embedded-owner.ts <dataDir>
 */
import { createServer } from "node:http"
import { createAuthSession } from "../../src/index.ts"
import { authOn } from "./auth.ts"

const dataDir = process.argv[2]
if (dataDir === undefined) throw new Error("usage: embedded-owner.ts <dataDir>")
delete process.env.DATABASE_URL

const database = { dataDir }
const auth = authOn(database)
const app = createAuthSession(auth, { database })

try {
  await app.migrate()
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
  await app.dispose()
  process.exit(3)
}

const email = "ada@example.com"
const existing = await app.users.findByEmail(email).catch(() => undefined)
let cookie = ""
let userId = existing?.id
if (existing === undefined) {
  const { headers, response } = await auth.api.signUpEmail({
    body: { email, password: "correct horse battery", name: "Ada" },
    returnHeaders: true
  })
  cookie = headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
  userId = response.user.id
}

const server = createServer(async (req, res) => {
  const headers = new Headers(req.url === "/whoami/cookie" ? { cookie } : (req.headers.authorization ? { authorization: req.headers.authorization } : {}))
  try {
    const result = await app.resolve(headers)
    const body = "session" in result
      ? { status: 200, email: result.session.user.email, via: result.session.session === null ? "token" : "cookie" }
      : { status: 401, error: result.error._tag }
    res.writeHead(body.status, { "content-type": "application/json" }).end(JSON.stringify(body))
  } catch (error) {
    res.writeHead(500).end(String(error))
  }
})
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number }
  process.stdout.write(`${JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${port}`, userId })}\n`)
})

process.once("SIGTERM", () => {
  server.close()
  void app.dispose().then(() => process.exit(0))
})
