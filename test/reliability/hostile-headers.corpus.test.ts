/**
 * The hand-written hostile header corpus (`test/fixtures/hostile-headers.ts`): every case gets
 * exactly its stated outcome from the real resolver, on embedded PGlite with real Better Auth,
 * with this run's credentials put in for the placeholders. Cases whose bytes `Headers` refuses
 * are also sent raw to a Node HTTP server, as a client that ignores the WHATWG rules would.
 */
import { assert, describe, it } from "@effect/vitest"
import http from "node:http"
import net from "node:net"
import { afterAll, beforeAll } from "vitest"
import { ApiToken } from "../../src/effect.ts"
import { type HostileHeaderCase, hostileHeaders, type OverHttp } from "../fixtures/hostile-headers.ts"
import { label, makeWorld, signCookieValue, withChecksum, type World } from "./world.ts"

const flip = (value: string, at: number) => value.slice(0, at) + (value[at] === "A" ? "B" : "A") + value.slice(at + 1)

/** The placeholders of the fixture, for one world's credentials. */
const placeholders = (world: World): Record<string, string | undefined> => {
  const { live, deactivated } = world
  const body = live.token.slice(ApiToken.PREFIX.length)
  const [sessionToken, signature] = decodeURIComponent(live.cookieValue).split(".") as [string, string]
  return {
    TOKEN: live.token,
    TOKEN_BODY: body,
    COOKIE: live.cookie,
    COOKIE_VALUE: live.cookieValue,
    COOKIE_DECODED: decodeURIComponent(live.cookieValue),
    SESSION_TOKEN: live.sessionToken,
    SESSION_DATA: live.sessionData,
    DEACTIVATED_TOKEN: deactivated.token,
    DEACTIVATED_COOKIE: deactivated.cookie,
    DEACTIVATED_SESSION_DATA: deactivated.sessionData,
    REVOKED_TOKEN: world.revokedToken,
    EXPIRED_TOKEN: world.expiredToken,
    UNKNOWN_TOKEN: world.unknownToken,
    TOKEN_TRUNCATED: live.token.slice(0, -1),
    TOKEN_HALF: live.token.slice(0, live.token.length / 2),
    TOKEN_UPPER: live.token.toUpperCase(),
    TOKEN_LOWER: live.token.toLowerCase(),
    TOKEN_FLIPPED: flip(live.token, ApiToken.PREFIX.length + 5),
    TOKEN_FLIPPED_CHECKSUM: flip(live.token, live.token.length - 1),
    TOKEN_RESUMMED: withChecksum(flip(live.token, ApiToken.PREFIX.length + 5).slice(0, -6)),
    TOKEN_BASE64: Buffer.from(live.token).toString("base64"),
    TOKEN_BASIC: Buffer.from(`user:${live.token}`).toString("base64"),
    COOKIE_FLIPPED: encodeURIComponent(`${flip(sessionToken, 3)}.${signature}`),
    COOKIE_SIGNATURE_FLIPPED: encodeURIComponent(`${sessionToken}.${flip(signature, 0)}`),
    COOKIE_TRUNCATED: live.cookieValue.slice(0, -4),
    FORGED_SIGNATURE: encodeURIComponent(`${"A".repeat(43)}=`)
  }
}

const fill = (value: string, world: World): string => {
  const known = placeholders(world)
  return value
    .replace(/\{\{SIGNED:(.*?)\}\}/gs, (_, raw: string) => signCookieValue(raw))
    .replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
      const secret = known[name]
      if (secret === undefined) throw new Error(`no value for {{${name}}} in this world`)
      return secret
    })
}

/** `Headers` as a framework would build it, or the TypeError it throws. */
const build = (c: HostileHeaderCase, world: World): Headers | TypeError => {
  try {
    const headers = new Headers()
    for (const [name, value] of c.headers) headers.append(name, fill(value, world))
    return headers
  } catch (error) {
    if (error instanceof TypeError) return error
    throw error
  }
}

/** A Node HTTP server whose handler does what a framework does: build `Headers`, then resolve. */
const serve = async (world: () => World) => {
  const server = http.createServer((request, response) => {
    const headers = new Headers()
    try {
      for (let i = 0; i < request.rawHeaders.length; i += 2) headers.append(request.rawHeaders[i]!, request.rawHeaders[i + 1]!)
    } catch {
      response.writeHead(400, { "content-length": 19 }).end("rejected by Headers")
      return
    }
    void world().resolve(headers).then(({ outcome }) => {
      const status = outcome.kind === "session" ? 200 : outcome.kind === "defect" ? 500 : 401
      const body = outcome.kind === "defect" ? "failure (5xx)" : label(outcome)
      response.writeHead(status, { "content-length": Buffer.byteLength(body) }).end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as net.AddressInfo

  /** Sends the header lines as raw UTF-8 bytes; answers what came back, in the fixture's words. */
  const send = (lines: ReadonlyArray<readonly [string, string]>) =>
    new Promise<OverHttp | string>((resolve) => {
      const socket = net.connect(port, "127.0.0.1")
      let received = ""
      const done = () => {
        const status = received.slice(9, 12)
        const body = received.split("\r\n\r\n")[1] ?? ""
        if (status === "400" && body !== "rejected by Headers") resolve("400 from Node's HTTP parser")
        else if (status === "431") resolve("431 from Node's HTTP parser")
        else resolve(body || `no answer (${received.slice(0, 40) || "connection closed"})`)
      }
      socket.on("data", (chunk) => (received += chunk.toString("latin1")))
      socket.on("close", done)
      socket.on("error", () => undefined) // the server may close while a 64 KB header is still being written
      // Not `end()`: a half-closed client would have its connection closed before the answer.
      socket.write(Buffer.concat([
        Buffer.from("GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"),
        ...lines.map(([name, value]) => Buffer.from(`${name}: ${value}\r\n`, "utf8")),
        Buffer.from("\r\n")
      ]))
    })
  return { send, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

const counts = (world: World) =>
  world.query<{ users: number; sessions: number; tokens: number }>(
    `select (select count(*)::int from "user") as users, (select count(*)::int from "session") as sessions,
            (select count(*)::int from "apiToken") as tokens`
  ).then((rows) => rows[0]!)

describe("hostile header corpus", () => {
  let plain: World
  let cached: World
  let server: Awaited<ReturnType<typeof serve>>
  let before: { plain: Awaited<ReturnType<typeof counts>>; cached: Awaited<ReturnType<typeof counts>> }

  beforeAll(async () => {
    ;[plain, cached] = await Promise.all([makeWorld(), makeWorld({ cookieCache: true })])
    server = await serve(() => plain)
    before = { plain: await counts(plain), cached: await counts(cached) }
  })
  afterAll(async () => {
    await server?.close()
    await Promise.all([plain?.close(), cached?.close()])
  })

  it("holds at least 100 cases, each named once", () => {
    assert.isAtLeast(hostileHeaders.length, 100)
    assert.strictEqual(new Set(hostileHeaders.map((c) => c.name)).size, hostileHeaders.length)
  })

  for (const c of hostileHeaders) {
    it(`${c.name} → ${c.expect}`, async () => {
      const world = c.cookieCache ? cached : plain
      const headers = build(c, world)
      if (c.expect === "rejected by Headers") {
        assert.instanceOf(headers, TypeError, "Headers accepted it")
        return
      }
      assert.notInstanceOf(headers, TypeError, "Headers refused it")
      const { outcome, statements } = await world.resolve(headers as Headers)
      const seen = outcome.kind === "defect" ? "failure (5xx)" : label(outcome)
      assert.strictEqual(seen, c.expect, outcome.kind === "defect" ? outcome.cause : undefined)
      if (outcome.kind === "session") assert.strictEqual(outcome.userId, world.live.userId)
      if (c.expect === "InvalidToken/malformed") assert.strictEqual(statements, 0, "a malformed token reached the database")
    })
  }

  for (const c of hostileHeaders.filter((c) => c.overHttp !== undefined)) {
    it(`over raw HTTP: ${c.name} → ${c.overHttp}`, async () => {
      const answer = await server.send(c.headers.map(([name, value]) => [name, fill(value, plain)] as const))
      assert.strictEqual(answer, c.overHttp)
    })
  }

  it("afterwards no table changed and the live credentials still work", async () => {
    for (const [world, counted] of [[plain, before.plain], [cached, before.cached]] as const) {
      assert.deepStrictEqual(await counts(world), counted)
      assert.strictEqual(label((await world.resolve(new Headers({ authorization: `Bearer ${world.live.token}` }))).outcome), "session")
      assert.strictEqual(label((await world.resolve(new Headers({ cookie: world.live.cookie }))).outcome), "session")
    }
  })
})
