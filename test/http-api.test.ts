/**
 * fusion-auth/http-api on a real HttpApi server built here and called as a fetch handler:
 * with `SessionResolver.layerTest` for each answer the resolver can give, and with the real
 * resolver (`authLayer`) over real Better Auth on PGlite (and Postgres when DATABASE_URL is set).
 * Every refusal is compared with `errorResponse` of the same error: status, body bytes, headers.
 */
import { assert, describe, it } from "@effect/vitest"
import { inspect } from "node:util"
import { Effect, Exit, Layer, Logger, Redacted, References, Schema, Tracer } from "effect"
import { FetchHttpClient, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { afterAll, beforeAll } from "vitest"
import {
  Anonymous,
  type AuthError,
  createAuthSession,
  Deactivated,
  type FusionAuthError,
  InsufficientScope,
  InvalidToken,
  RateLimited,
  type Session
} from "../src/index.ts"
import { authLayer, errorResponse } from "../src/effect.ts"
import {
  Authentication,
  AuthenticationLayer,
  CurrentSession,
  Forbidden,
  ForbiddenResponse,
  requireScope,
  Unauthorized
} from "../src/http-api.ts"
import { SessionResolver } from "../src/testing.ts"
import { makeAuth, migrate, signUp } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"

// ---- an app's API: one endpoint for any caller, one that needs the `write` scope ------------

class Account extends HttpApiGroup.make("account")
  .add(
    HttpApiEndpoint.get("me", "/me", {
      success: Schema.Struct({ id: Schema.String, via: Schema.String, scopes: Schema.Array(Schema.String) })
    }),
    HttpApiEndpoint.post("write", "/write", { success: Schema.String, error: ForbiddenResponse })
  )
  .middleware(Authentication)
{}

class Api extends HttpApi.make("test").add(Account).prefix("/v1") {}

const AccountHandlers = HttpApiBuilder.group(Api, "account", (handlers) =>
  Effect.succeed(
    handlers
      .handle("me", () =>
        CurrentSession.use(({ user, session, scopes }) =>
          Effect.succeed({ id: user.id, via: session === null ? "token" : "cookie", scopes })))
      .handle("write", () => requireScope("write").pipe(Effect.as("written")))
  ))

/** The API as a fetch handler over the given resolver, as an app mounts it; with `telemetry`, its request logger on too. */
const serve = <E>(resolver: Layer.Layer<SessionResolver, E>, telemetry?: Layer.Layer<never>) =>
  HttpRouter.toWebHandler(
    HttpApiBuilder.layer(Api, { openapiPath: "/v1/openapi.json" }).pipe(
      Layer.provide(AccountHandlers),
      Layer.provide(AuthenticationLayer),
      Layer.provide(resolver),
      Layer.provide(HttpServer.layerServices),
      Layer.provideMerge(telemetry ?? Layer.empty)
    ),
    { disableLogger: telemetry === undefined }
  )

/** A tracer and a logger that record every span (name, attributes, events, failure) and log line (message, cause, annotations), as text. */
const recording = () => {
  const spans: Array<Tracer.NativeSpan> = []
  const texts: Array<string> = []
  const layer = Layer.mergeAll(
    Layer.succeed(Tracer.Tracer, Tracer.make({
      span: (options) => {
        const span = new Tracer.NativeSpan(options)
        spans.push(span)
        return span
      }
    })),
    Logger.layer([Logger.make((options) =>
      texts.push(inspect([options.message, options.cause, options.fiber.getRef(References.CurrentLogAnnotations)], { depth: 10 }))
    )]),
    Layer.succeed(References.MinimumLogLevel, "All")
  )
  // What an exporter sends of a span: not the value it succeeded with (that stays in memory), its failure if any.
  const failure = (span: Tracer.NativeSpan) =>
    span.status._tag === "Ended" && Exit.isFailure(span.status.exit) ? span.status.exit.cause : undefined
  const text = () => [
    ...texts,
    ...spans.map((span) => inspect([span.name, Object.fromEntries(span.attributes), span.events, failure(span)], { depth: 10 }))
  ].join("\n")
  return { layer, spans, text }
}

const at = (path: string, headers: Record<string, string> = {}, method = "GET") =>
  new Request(`http://app.test/v1${path}`, { method, headers })

/** What a caller can observe of a refusal. */
const observe = async (response: Response) => ({
  status: response.status,
  body: await response.text(),
  challenge: response.headers.get("www-authenticate"),
  retryAfter: response.headers.get("retry-after"),
  rateLimit: [response.headers.get("ratelimit-policy"), response.headers.get("ratelimit")],
  cache: response.headers.get("cache-control"),
  type: response.headers.get("content-type")
})

/** The response equals, byte for byte in what matters, what `errorResponse` answers for `error`. */
const assertAnswers = async (response: Response, error: FusionAuthError) =>
  assert.deepStrictEqual(await observe(response), await observe(errorResponse(error)), error._tag)

const now = new Date(0)
const ada = { id: "ada", email: "ada@example.com", name: "Ada", emailVerified: true, createdAt: now, updatedAt: now }
const row = { id: "s1", userId: "ada", token: "row-token", expiresAt: new Date(8.64e15), createdAt: now, updatedAt: now }
const viaToken = (scopes: ReadonlyArray<string>): Session => ({ user: ada, session: null, scopes })
const viaCookie = (scopes: ReadonlyArray<string>): Session => ({ user: ada, session: row, scopes })

const withApi = async <A>(result: Session | AuthError, use: (api: ReturnType<typeof serve>) => Promise<A>) => {
  const api = serve(SessionResolver.layerTest(result))
  try {
    return await use(api)
  } finally {
    await api.dispose()
  }
}

describe("Authentication over a test resolver", () => {
  it("provides the resolved session to the handler, for a Bearer request and a cookie-only one", () =>
    withApi(viaToken(["read"]), async ({ handler }) => {
      for (const headers of [{ authorization: "Bearer sk_live_x" }, { cookie: "better-auth.session_token=x" }]) {
        const response = await handler(at("/me", headers))
        assert.deepStrictEqual([response.status, await response.json()], [200, { id: "ada", via: "token", scopes: ["read"] }])
      }
    }))

  it("answers each refusal of the resolver with exactly errorResponse's 401", async () => {
    const refusals: ReadonlyArray<AuthError> = [
      new Anonymous(),
      new Deactivated({ userId: "ada", credential: "cookie", reason: "deactivated" }),
      new Deactivated({ userId: "ada", credential: "token", reason: "deactivated" }),
      new InvalidToken({ reason: "malformed" }),
      new InvalidToken({ reason: "revoked", tokenId: "t1" })
    ]
    for (const error of refusals) {
      await withApi(error, async ({ handler }) => {
        await assertAnswers(await handler(at("/me")), error)
        await assertAnswers(await handler(at("/write", { authorization: "Bearer sk_live_x" }, "POST")), error)
      })
    }
    await withApi(new Anonymous(), async ({ handler }) => {
      const response = await handler(at("/me"))
      assert.deepStrictEqual([response.status, response.headers.get("www-authenticate")], [401, "Bearer"])
    })
  })

  it("requireScope answers a caller without the scope with errorResponse's 403, naming the scope to a token", async () => {
    await withApi(viaToken(["read"]), async ({ handler }) => {
      const response = await handler(at("/write", {}, "POST"))
      assert.strictEqual(response.headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="write"`)
      await assertAnswers(response, new InsufficientScope({ scope: "write", credential: "token" }))
    })
    await withApi(viaCookie(["read"]), async ({ handler }) => {
      const response = await handler(at("/write", {}, "POST"))
      assert.strictEqual(response.headers.get("www-authenticate"), null)
      await assertAnswers(response, new InsufficientScope({ scope: "write", credential: "cookie" }))
    })
    await withApi(viaToken(["read", "write"]), async ({ handler }) => {
      const response = await handler(at("/write", {}, "POST"))
      assert.deepStrictEqual([response.status, await response.json()], [200, "written"])
    })
  })

  it("a generated client gets the refusal back as the same Unauthorized or Forbidden the server sent", async () => {
    const callWith = (result: Session | AuthError, call: "me" | "write") =>
      withApi(result, ({ handler }) =>
        Effect.runPromise(
          Effect.gen(function*() {
            const client = yield* HttpApiClient.make(Api, { baseUrl: "http://app.test" })
            return yield* (call === "me" ? Effect.flip(client.account.me()) : Effect.flip(client.account.write()))
          }).pipe(
            Effect.provide(FetchHttpClient.layer),
            Effect.provideService(FetchHttpClient.Fetch, ((input, init) => handler(new Request(input, init))) as typeof fetch)
          )
        ))
    const fields = (error: unknown) => {
      assert.isTrue(error instanceof Unauthorized || error instanceof Forbidden, String(error))
      const { _tag, body, headers } = error as Unauthorized | Forbidden
      return { _tag, body, headers }
    }
    assert.deepStrictEqual(fields(await callWith(new InvalidToken({ reason: "revoked" }), "me")), {
      _tag: "Unauthorized",
      body: { error: "invalid_token", reason: "InvalidToken" },
      headers: { "www-authenticate": `Bearer error="invalid_token"`, "cache-control": "no-store" }
    })
    assert.deepStrictEqual(fields(await callWith(viaToken(["read"]), "write")), {
      _tag: "Forbidden",
      body: { error: "insufficient_scope", scope: "write" },
      headers: { "www-authenticate": `Bearer error="insufficient_scope", scope="write"`, "cache-control": "no-store" }
    })
    assert.deepStrictEqual(fields(await callWith(viaCookie(["read"]), "write")).headers, { "cache-control": "no-store" })
  })

  it("an error value carries no secret: a value that is not a scope name is echoed nowhere", () => {
    const pasted = "sk_live_4eC39HqLyjWDarjtT1zdp7dc0Abc12"
    const forbidden = Forbidden.from(new InsufficientScope({ scope: pasted, credential: "token" }))
    assert.deepStrictEqual([forbidden.body, forbidden.headers["www-authenticate"]], [{ error: "insufficient_scope" }, `Bearer error="insufficient_scope"`])
    const unauthorized = Unauthorized.from(new InvalidToken({ reason: "revoked", tokenId: "tok_1" }))
    for (const error of [forbidden, unauthorized]) assert.notMatch(`${error.message} ${JSON.stringify(error)}`, /sk_live_|tok_1/)
  })

  it("the OpenAPI document shows the bearer scheme on every endpoint, the 401 on each and the 403 where a scope is checked", () =>
    withApi(viaToken([]), async ({ handler }) => {
      const document = (await (await handler(new Request("http://app.test/v1/openapi.json"))).json()) as {
        components: { securitySchemes: Record<string, { type: string; scheme: string }> }
        paths: Record<string, Record<string, { security: Array<unknown>; responses: Record<string, { headers?: Record<string, unknown> }> }>>
      }
      assert.deepInclude(document.components.securitySchemes.bearer, { type: "http", scheme: "Bearer" })
      const me = document.paths["/v1/me"]!.get!
      const write = document.paths["/v1/write"]!.post!
      for (const operation of [me, write]) {
        assert.deepStrictEqual(operation.security, [{ bearer: [] }])
        assert.containsAllKeys(operation.responses["401"]!.headers, ["www-authenticate"])
      }
      assert.containsAllKeys(write.responses["403"]!.headers, ["www-authenticate"])
      assert.notProperty(me.responses, "403")
      for (const operation of [me, write]) {
        assert.containsAllKeys(operation.responses["429"]!.headers, ["retry-after", "ratelimit-policy", "ratelimit"])
        assert.containsAllKeys(operation.responses["503"]!.headers, ["retry-after"])
      }
    }))
})

// ---- the real resolver: Better Auth's cookie and fusion-auth's tokens on a real database ---

let emails = 0
const email = () => `http-api${++emails}.${Math.random().toString(36).slice(2, 8)}@example.com`

for (const backend of sqlBackends) {
  describe(`Authentication over the real resolver on ${backend.name}`, () => {
    const tokens = { scopes: ["read", "write"] }
    let db: TestDatabase
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
    let api: ReturnType<typeof serve>

    beforeAll(async () => {
      db = await backend.make()
      setup = makeAuth(db.url)
      await migrate(setup.auth, { url: db.url })
      app = createAuthSession(setup.auth, { database: { url: db.url }, tokens })
      api = serve(authLayer(setup.auth, { database: { url: db.url }, tokens }))
    })
    afterAll(async () => {
      await api.dispose()
      await app.dispose()
      await setup.pool.end()
      await db.close()
    })

    /** A new user with a browser cookie and a `read` token, as request headers. */
    const caller = async () => {
      const { userId, cookie } = await signUp(setup.auth, email())
      const { token } = await app.tokens.create({ userId, name: "api", scopes: ["read"] })
      return { userId, cookie: { cookie }, token: { authorization: `Bearer ${Redacted.value(token)}` }, secret: Redacted.value(token) }
    }

    it("a token and a browser cookie (no Authorization header) resolve to the same user", async () => {
      const { userId, cookie, token } = await caller()
      const byToken = await api.handler(at("/me", token))
      assert.deepStrictEqual([byToken.status, await byToken.json()], [200, { id: userId, via: "token", scopes: ["read"] }])
      const byCookie = await api.handler(at("/me", cookie))
      assert.deepStrictEqual([byCookie.status, await byCookie.json()], [200, { id: userId, via: "cookie", scopes: ["read", "write", "tokens:manage"] }])
    })

    it("nothing gets the bare Bearer 401; a bad token gets invalid_token, even beside a good cookie", async () => {
      const { cookie, secret } = await caller()
      await assertAnswers(await api.handler(at("/me")), new Anonymous())
      const mistyped = `Bearer ${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`
      const refused = await api.handler(at("/me", { ...cookie, authorization: mistyped }))
      const observed = await observe(refused.clone())
      assert.strictEqual(observed.challenge, `Bearer error="invalid_token"`)
      assert.notInclude(JSON.stringify(observed), secret.slice(8))
      await assertAnswers(refused, new InvalidToken({ reason: "malformed" }))
      await assertAnswers(await api.handler(at("/me", { authorization: "Bearer sk_live_not-a-token" })), new InvalidToken({ reason: "malformed" }))
    })

    it("a revoked token and a deactivated user are refused on the next request, with errorResponse's 401", async () => {
      const { userId, cookie, token } = await caller()
      await app.users.deactivate(userId)
      await assertAnswers(await api.handler(at("/me", token)), new Deactivated({ userId, credential: "token", reason: "deactivated" }))
      await assertAnswers(await api.handler(at("/me", cookie)), new Deactivated({ userId, credential: "cookie", reason: "deactivated" }))
      await app.users.reactivate(userId)
      assert.strictEqual((await api.handler(at("/me", token))).status, 200)
      const [listed] = await app.tokens.list(userId)
      await app.tokens.revoke(userId, listed!.id)
      await assertAnswers(await api.handler(at("/me", token)), new InvalidToken({ reason: "revoked" }))
    })

    it("with tokens.rateLimit, a token past its limit gets errorResponse's 429 from the third request; a cookie is not counted", async () => {
      const { userId, cookie, token } = await caller()
      const limited = serve(authLayer(setup.auth, { database: { url: db.url }, tokens: { ...tokens, rateLimit: { requests: 2, window: "1 hour" } } }))
      try {
        for (let i = 0; i < 2; i++) assert.strictEqual((await limited.handler(at("/me", token))).status, 200)
        const refused = await limited.handler(at("/me", token))
        const retryAfter = Number(refused.headers.get("retry-after"))
        assert.isTrue(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`)
        const [listed] = await app.tokens.list(userId)
        await assertAnswers(refused, new RateLimited({ reason: "exceeded", scope: "token", limit: 2, window: 3600, retryAfter, tokenId: listed!.id }))
        for (let i = 0; i < 5; i++) assert.strictEqual((await limited.handler(at("/me", cookie))).status, 200)
        assert.strictEqual((await api.handler(at("/me", token))).status, 200, "an API without a limit is not counted")
      } finally {
        await limited.dispose()
      }
    })

    it("no token or cookie value reaches a log line or a span, with the request logger and a tracer on", async () => {
      const { userId, cookie, token, secret } = await caller()
      const telemetry = recording()
      const traced = serve(authLayer(setup.auth, { database: { url: db.url }, tokens }), telemetry.layer)
      try {
        const mistyped = `Bearer ${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`
        for (const headers of [token, cookie, { authorization: mistyped }, {}]) await traced.handler(at("/me", headers))
        await traced.handler(at("/write", token, "POST"))
        await app.users.deactivate(userId)
        await traced.handler(at("/me", token))
        await traced.handler(at("/me", cookie))
      } finally {
        await traced.dispose()
      }
      const text = telemetry.text()
      assert.isAbove(telemetry.spans.length, 0, "the tracer saw the requests")
      assert.include(text, "/v1/me", "the logger and spans name the requests")
      const sessionToken = decodeURIComponent(cookie.cookie.split("=")[1]!).split(".")[0]!
      for (const secretPart of [secret.slice(8, 28), secret.slice(-20), sessionToken]) assert.notInclude(text, secretPart)
    })

    it("requireScope: the read token gets 403 insufficient_scope naming write; the browser session may write", async () => {
      const { cookie, token } = await caller()
      const lacking = await api.handler(at("/write", token, "POST"))
      assert.strictEqual(lacking.headers.get("www-authenticate"), `Bearer error="insufficient_scope", scope="write"`)
      await assertAnswers(lacking, new InsufficientScope({ scope: "write", credential: "token" }))
      const allowed = await api.handler(at("/write", cookie, "POST"))
      assert.deepStrictEqual([allowed.status, await allowed.json()], [200, "written"])
    })
  })
}
