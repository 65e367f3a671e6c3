/**
 * Secret hygiene: realistic flows (sign-up, sign-in, token create / verify / rotate / revoke /
 * leak revocation, revoked, expired, unknown, malformed and forged credentials, deactivation,
 * refused operations, then the database going away) with everything observable captured:
 * every Effect log line (a recording `Logger`, all levels), every span with its attributes,
 * events and failure (a recording `Tracer`), every `console.*` call and write to stdout and
 * stderr, every error a promise rejected with (walked through `cause`, `errors` and Effect
 * causes, and printed with `String`, `JSON.stringify` and `util.inspect`), and every refusal
 * response. None may hold a password, a token (whole or a 20-character piece of its random
 * part), a token digest, a session cookie's token or signature, or a server secret. Errors
 * may name a token id or hint; nothing more.
 *
 * The same story runs twice: on a runtime carrying the recording tracer and logger (how an app
 * adds its telemetry), and on `createAuthSession`'s own runtime with Effect's default logger,
 * which writes to the console.
 */
import { assert, describe, it } from "@effect/vitest"
import { createHash, randomUUID } from "node:crypto"
import { inspect } from "node:util"
import { Cause, Exit, Layer, Logger, Redacted, References, Tracer } from "effect"
import { vi } from "vitest"
import { ApiToken, CookieSource, Database, SessionResolver, Stores, TokenPolicy, TokenSecret } from "../../src/effect.ts"
import { createAuthSession } from "../../src/index.ts"
import { LastUsed } from "../../src/services/LastUsed.ts"
import { makeAuth, migrate, type TestAuth } from "../support/auth.ts"
import { pglite, type TestDatabase } from "../support/databases.ts"

/** Everything the flows let out, as text, with where it came from. */
class Capture {
  readonly texts: Array<{ readonly where: string; readonly text: string }> = []
  readonly spans: Array<Tracer.NativeSpan> = []
  readonly logs: Array<string> = []

  add(where: string, ...values: ReadonlyArray<unknown>) {
    for (const value of values) for (const text of printed(value)) this.texts.push({ where, text })
  }

  /** Spans are read at the end, when they have all ended. */
  addSpans() {
    for (const span of this.spans) {
      const where = `span ${span.name}`
      this.add(where, span.name, Object.fromEntries(span.attributes), span.events, span.links.map((link) => link.attributes))
      if (span.status._tag === "Ended" && Exit.isFailure(span.status.exit)) this.add(`${where} (failure)`, span.status.exit.cause)
    }
  }
}

/** Every way a value gets printed, and the same for what it carries: `cause`, `errors`, Effect causes. */
const printed = (value: unknown, seen = new Set<unknown>()): Array<string> => {
  if (value === null || value === undefined) return []
  if (typeof value !== "object" && typeof value !== "function") return [String(value)]
  if (seen.has(value)) return []
  seen.add(value)
  const out = [inspect(value, { depth: 10, showHidden: true, breakLength: Infinity })]
  try {
    out.push(JSON.stringify(value) ?? "")
  } catch {
    // circular: inspect has it
  }
  if (Array.isArray(value)) for (const item of value) out.push(...printed(item, seen))
  if (Cause.isCause(value)) {
    out.push(Cause.pretty(value))
    for (const reason of value.reasons) {
      out.push(...printed(reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined, seen))
    }
  }
  if (value instanceof Error) {
    out.push(String(value), value.message, value.stack ?? "")
    out.push(...printed(value.cause, seen))
    if (value instanceof AggregateError) for (const error of value.errors) out.push(...printed(error, seen))
  }
  for (const key of ["reason", "error", "defect", "failure"]) {
    const nested = (value as Record<string, unknown>)[key]
    if (typeof nested === "object") out.push(...printed(nested, seen))
  }
  return out
}

/** The length of a piece of a secret that must not appear anywhere (docs/reliability.md). */
const PIECE = 20

/** The secrets of a run, by label; the label is what a failure names, never the value. */
class Secrets {
  readonly values = new Map<string, string>()

  add(label: string, value: string) {
    this.values.set(label, value)
    const decoded = safeDecode(value)
    if (decoded !== value) this.values.set(`${label} (decoded)`, decoded)
    const encoded = encodeURIComponent(value)
    if (encoded !== value) this.values.set(`${label} (URL-encoded)`, encoded)
  }

  /** Every 20-character piece of a value: a log that kept any of them (its last 24 characters, say) leaked it. */
  pieces(label: string, value: string) {
    for (let at = 0; at + PIECE <= value.length; at++) this.add(`${label}, characters ${at}-${at + PIECE}`, value.slice(at, at + PIECE))
  }

  /** A token: whole, every piece of its random part, and its digests (as stored, and plain SHA-256). */
  token(label: string, token: string, secret: Redacted.Redacted<string>) {
    this.add(label, token)
    this.pieces(`${label} after its prefix`, token.slice(token.lastIndexOf("_") + 1))
    const parsed = ApiToken.parse(token)
    if (parsed !== undefined) {
      const stored = ApiToken.digest(parsed, secret)
      this.add(`${label} digest`, stored)
      this.add(`${label} digest, first 16`, stored.slice(0, 16))
      this.add(`${label} SHA-256`, createHash("sha256").update(token).digest("hex"))
    }
  }

  /** A Better Auth session cookie pair: its session token and its signature. */
  cookie(label: string, pair: string) {
    const [token, signature] = safeDecode(pair.slice(pair.indexOf("=") + 1)).split(".") as [string, string]
    this.add(`${label} session token`, token)
    this.add(`${label} signature`, signature)
    this.pieces(`${label} session token`, token)
    this.pieces(`${label} signature`, signature)
  }

  /** Labels of the secrets found in any captured text, with where. */
  findIn(capture: Capture): Array<string> {
    const found = new Set<string>()
    for (const { where, text } of capture.texts) {
      for (const [label, value] of this.values) if (text.includes(value)) found.add(`${label} in ${where}`)
    }
    return [...found]
  }
}

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

const BASE = "http://localhost:3000"
/** lastUsedAt notes stay pending until a flush, so the failing flush of the bad day always has some to write. */
const tokens = { scopes: ["read", "write"], lastUsedInterval: "1 hour" } as const
const policy = TokenPolicy.make(tokens)

/** fusion-auth's live services, as `createAuthSession` composes them, with a recording tracer and logger. */
const traced = (auth: TestAuth, url: string, secret: Redacted.Redacted<string>, capture: Capture) =>
  SessionResolver.layer.pipe(
    Layer.provideMerge(Stores.layer),
    Layer.provide(CookieSource.layer(auth)),
    Layer.provide(Database.layer({ url })),
    Layer.provide(Layer.succeed(TokenSecret, secret)),
    Layer.provide(Layer.succeed(TokenPolicy.CurrentTokenPolicy, policy)),
    Layer.orDie,
    Layer.provideMerge(Layer.mergeAll(
      Layer.succeed(Tracer.Tracer, Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          capture.spans.push(span)
          return span
        }
      })),
      Logger.layer([Logger.make((options) => {
        capture.logs.push(`${options.logLevel} ${inspect(options.message)}`)
        capture.add(`log ${options.logLevel}`, options.message, options.cause, options.fiber.getRef(References.CurrentLogAnnotations))
      })]),
      Layer.succeed(References.MinimumLogLevel, "All")
    ))
  )

/** `console.*`, stdout and stderr, recorded (console silenced, the streams passed through). */
const captureOutput = (capture: Capture) => {
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => capture.add(`console.${method}`, args))
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: Array<unknown>) => boolean
    vi.spyOn(stream, "write").mockImplementation(((chunk: unknown, ...rest: Array<unknown>) => {
      capture.add(stream === process.stdout ? "stdout" : "stderr", String(chunk))
      return write(chunk, ...rest)
    }) as never)
  }
  const warning = (w: Error) => capture.add("process warning", w)
  process.on("warning", warning)
  return () => process.off("warning", warning)
}

type App = ReturnType<typeof createAuthSession<TestAuth>>

/** The flows of a day in production, then of a bad day. Records every refusal and failure. */
const story = async (
  app: App,
  { auth, db, secret, sql }: {
    readonly auth: TestAuth
    readonly db: TestDatabase
    readonly secret: Redacted.Redacted<string>
    readonly sql: (text: string, values: Array<unknown>) => Promise<unknown>
  },
  capture: Capture,
  secrets: Secrets
) => {
  const password = `pw-${randomUUID()}`
  const wrongPassword = `wrong-${randomUUID()}`
  secrets.add("password", password)
  secrets.add("wrong password", wrongPassword)
  const email = `hygiene.${randomUUID().slice(0, 8)}@example.com`

  const post = async (path: string, body: unknown) => {
    const response = await auth.handler(new Request(`${BASE}/api/auth${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: BASE },
      body: JSON.stringify(body)
    }))
    // A refusal's body is a message to the caller; a success's body is the caller's own session, not a log.
    if (response.status >= 400) capture.add(`Better Auth ${path} ${response.status}`, await response.clone().text())
    return response
  }
  const cookieOf = (response: Response) =>
    response.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("better-auth.session_token="))!

  /** Settles a promise; a rejection (error or thrown response) is recorded as something a log may carry. */
  const settle = async <A>(where: string, promise: Promise<A>): Promise<A | undefined> => {
    try {
      return await promise
    } catch (error) {
      if (error instanceof Response) capture.add(`${where} (response)`, [...error.headers], await error.clone().text())
      else capture.add(`${where} (rejection)`, error)
      return undefined
    }
  }
  /** One request through `resolve` and `requireSession`, and through the runtime for the raw Exit. */
  const request = async (where: string, headers: HeadersInit) => {
    const result = await settle(where, app.resolve(new Headers(headers)))
    if (result !== undefined && "error" in result) capture.add(`${where} (error)`, result.error)
    await settle(where, app.requireSession(new Request(`${BASE}/settings`, { headers })))
    const exit = await app.runtime.runPromiseExit(SessionResolver.use((r) => r.resolve(new Headers(headers))))
    if (Exit.isFailure(exit)) capture.add(`${where} (exit)`, exit.cause)
    return result !== undefined && "session" in result
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

  // Sign-up, a wrong password, a second sign-in: Better Auth's own flows.
  const signedUp = await post("/sign-up/email", { email, password, name: "Hygiene" })
  assert.strictEqual(signedUp.status, 200)
  const { user } = (await signedUp.json()) as { user: { id: string } }
  const cookie = cookieOf(signedUp)
  secrets.cookie("cookie", cookie)
  assert.strictEqual((await post("/sign-in/email", { email, password: wrongPassword })).status, 401)
  const second = cookieOf(await post("/sign-in/email", { email, password }))
  secrets.cookie("second cookie", second)
  assert.isTrue(await request("live cookie", { cookie }))

  // Tokens: created, used, rotated, revoked, revoked as leaked.
  const created = async (label: string, name: string) => {
    const made = await app.tokens.create({ userId: user.id, name, scopes: ["read"] })
    secrets.token(label, Redacted.value(made.token), secret)
    capture.add(`${label} created (info)`, made.info)
    return { token: Redacted.value(made.token), id: made.info.id }
  }
  const ci = await created("ci token", "ci")
  const deploy = await created("deploy token", "deploy")
  const laptop = await created("laptop token", "laptop")
  const old = await created("expiring token", "old")
  assert.isTrue(await request("live token", bearer(ci.token)))
  await settle("requireScope beyond the token", app.requireScope("write", new Request(`${BASE}/api/x`, { headers: bearer(ci.token) })))

  const rotated = await app.tokens.rotate({ userId: user.id, tokenId: deploy.id })
  secrets.token("rotated token", Redacted.value(rotated.token), secret)
  assert.isFalse(await request("token rotated away", bearer(deploy.token)))
  assert.isTrue(await request("rotated token", bearer(Redacted.value(rotated.token))))

  await app.tokens.revoke(user.id, ci.id)
  assert.isFalse(await request("revoked token", bearer(ci.token)))
  await app.tokens.revokeLeaked(laptop.token, "secret-scanner")
  await app.tokens.revokeLeaked(Redacted.make(laptop.token), "secret-scanner")
  assert.isFalse(await request("token revoked as leaked", bearer(laptop.token)))
  await sql(`update "apiToken" set "expiresAt" = now() - interval '1 second' where "id" = $1`, [old.id])
  assert.isFalse(await request("expired token", bearer(old.token)))

  // Credentials that were never good: unknown, malformed, forged.
  const unknown = Redacted.value(ApiToken.generate())
  secrets.token("unknown token", unknown, secret)
  assert.isFalse(await request("unknown token", bearer(unknown)))
  for (const [label, value] of [
    ["truncated token", Redacted.value(rotated.token).slice(0, -1)],
    ["token with a character changed", Redacted.value(rotated.token).replace(/.$/, (c) => (c === "A" ? "B" : "A"))],
    ["two tokens", `${Redacted.value(rotated.token)}, Bearer ${Redacted.value(rotated.token)}`]
  ] as const) {
    assert.isFalse(await request(label, bearer(value)))
  }
  const forged = `better-auth.session_token=${encodeURIComponent(`forged${randomUUID()}.${"A".repeat(43)}=`)}`
  secrets.cookie("forged cookie", forged)
  assert.isFalse(await request("forged cookie", { cookie: forged }))
  const [sessionToken, signature] = safeDecode(cookie.slice(cookie.indexOf("=") + 1)).split(".") as [string, string]
  const resigned = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}` // the first character: all its bits count
  const tampered = `better-auth.session_token=${encodeURIComponent(`${sessionToken}.${resigned}`)}`
  assert.isFalse(await request("cookie with the signature changed", { cookie: tampered }))

  // Refused operations.
  await settle("leak revocation of a non-token", app.tokens.revokeLeaked(`not-a-token ${unknown}`))
  await settle("leak revocation of an unknown token", app.tokens.revokeLeaked(unknown))
  await settle("token with a control character in its name", app.tokens.create({ userId: user.id, name: `x\u0000${unknown}` }))
  await settle("token expiring in the past", app.tokens.create({ userId: user.id, name: "past", expiresAt: new Date(0) }))
  await settle("token with an unknown scope", app.tokens.create({ userId: user.id, name: "x", scopes: [unknown] }))
  await settle("token for no user", app.tokens.create({ userId: "nobody", name: "x" }))
  await settle("rotating a revoked token", app.tokens.rotate({ userId: user.id, tokenId: ci.id }))
  capture.add("token list", await app.tokens.list(user.id))
  capture.add("audit log", await app.audit.list({ userId: user.id }))

  // Deactivation, refused sign-in, reactivation.
  await app.users.deactivate(user.id, "admin")
  assert.isFalse(await request("deactivated cookie", { cookie }))
  assert.isFalse(await request("deactivated token", bearer(Redacted.value(rotated.token))))
  assert.strictEqual((await post("/sign-in/email", { email, password })).status, 403)
  await app.users.reactivate(user.id, "admin")
  assert.isTrue(await request("reactivated cookie", { cookie: second }))

  // A bad day: the database goes away. Every request and operation fails, and says nothing secret.
  await db.close()
  assert.isFalse(await request("database down, token", bearer(Redacted.value(rotated.token))))
  assert.isFalse(await request("database down, cookie", { cookie }))
  assert.isFalse(await request("database down, unknown token", bearer(unknown)))
  await settle("database down, create", app.tokens.create({ userId: user.id, name: "x" }))
  await settle("database down, leak revocation", app.tokens.revokeLeaked(Redacted.value(rotated.token)))
  await settle("database down, rotate", app.tokens.rotate({ userId: user.id, tokenId: rotated.info.id }))
  await settle("database down, deactivate", app.users.deactivate(user.id))
  await settle("database down, flush lastUsedAt", app.run(LastUsed.use((l) => l.flush)))
  assert.strictEqual((await post("/sign-in/email", { email, password })).status, 500)
  assert.strictEqual((await post("/sign-up/email", { email: `x${email}`, password, name: "x" })).status, 500)
  await app.dispose() // flushes the pending lastUsedAt notes, which fails and is logged
}

const setUp = async () => {
  const db = await pglite.make()
  const { auth, pool } = makeAuth(db.url)
  await migrate(auth, { url: db.url })
  const secret = Redacted.make(`server-secret-${randomUUID()}`)
  const secrets = new Secrets()
  secrets.add("token server secret", Redacted.value(secret))
  secrets.add("Better Auth secret", "test-secret-test-secret-test-secret-0123")
  return { db, auth, pool, secret, secrets }
}

describe("secret hygiene", () => {
  it("the scanner finds a secret wherever an error or a log could hide it", () => {
    const secret = "sk_live_canary0123456789canary0123456789ab"
    const hiding = [
      new Error("outer", { cause: new Error("inner", { cause: { detail: `Key (digest)=(${secret})` } }) }),
      new AggregateError([new Error(secret)], "many"),
      Cause.fail({ _tag: "SqlError", reason: { cause: { detail: secret } } }),
      Cause.die(new Error("x", { cause: secret })),
      { attributes: { "db.query.params": [secret] } },
      [`a log line with ${encodeURIComponent(secret)}`]
    ]
    for (const value of hiding) {
      const capture = new Capture()
      const secrets = new Secrets()
      secrets.add("canary", secret)
      capture.add("test", value)
      assert.isNotEmpty(secrets.findIn(capture), inspect(value))
    }
  })

  it("with a recording tracer and logger: no secret in any log, span, console line, error or response", async () => {
    const { db, auth, pool, secret, secrets } = await setUp()
    const capture = new Capture()
    const stop = captureOutput(capture)
    try {
      const app = createAuthSession(auth, { layer: traced(auth, db.url, secret, capture) })
      await story(app as unknown as App, { auth, db, sql: (text, values) => pool.query(text, values), secret }, capture, secrets)
    } finally {
      stop()
      vi.restoreAllMocks()
      await pool.end().catch(() => undefined)
    }
    capture.addSpans()

    // The capture saw what it should have: otherwise a clean result would mean nothing.
    const names = new Set(capture.spans.map((span) => span.name))
    // The resolver, the token lookup and the native cookie path are untraced on purpose
    // (request-path cost); their SQL still is, which the statement checks below show.
    for (const name of ["TokenStore.create", "TokenStore.rotate"]) {
      assert.isTrue(names.has(name), `no ${name} span recorded`)
    }
    const statements = capture.spans.map((span) => String(span.attributes.get("db.query.text") ?? ""))
    assert.isTrue(statements.some((text) => text.includes(`from "apiToken"`)), "no token statement span recorded")
    assert.isTrue(statements.some((text) => text.includes(`from "session" s join "user" u`)), "no cookie statement span recorded")
    assert.isTrue(capture.logs.some((line) => line.includes("lastUsedAt not written")), "the failed flush was not logged")
    assert.isAbove(capture.texts.length, 1_000)
    assert.isAbove(secrets.values.size, 30)

    console.info(
      `secret hygiene, traced: ${capture.spans.length} spans (${names.size} names), ${capture.logs.length} log lines, ` +
        `${capture.texts.length} texts scanned for ${secrets.values.size} secrets`
    )
    assert.deepStrictEqual(secrets.findIn(capture), [])
  })

  it("with createAuthSession's own runtime and Effect's default logger: no secret in console output or errors", async () => {
    const { db, auth, pool, secret, secrets } = await setUp()
    const capture = new Capture()
    const stop = captureOutput(capture)
    try {
      const app = createAuthSession(auth, { database: { url: db.url }, tokenSecret: secret, tokens })
      await story(app as unknown as App, { auth, db, sql: (text, values) => pool.query(text, values), secret }, capture, secrets)
    } finally {
      stop()
      vi.restoreAllMocks()
      await pool.end().catch(() => undefined)
    }
    const logged = capture.texts.some(({ where, text }) => where.startsWith("console") && text.includes("lastUsedAt not written"))
    assert.isTrue(logged, "the default logger's output was not captured")
    console.info(`secret hygiene, default runtime: ${capture.texts.length} texts scanned for ${secrets.values.size} secrets`)
    assert.deepStrictEqual(secrets.findIn(capture), [])
  })
})
