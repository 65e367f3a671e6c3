/**
 * How an app tests its own code against fusion-auth with no database: swap the resolver (or
 * the current session) for a fixed answer. Written as an app author would.
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import { Effect, Layer, Schema } from "effect"
import { createAuthSession, Deactivated, fusionAuth, InsufficientScope, InvalidToken, type Session } from "../src/index.ts"
import { CurrentSession, requireScope, SessionResolver, Stores } from "../src/effect.ts"
import { MemoryDatabase } from "../src/testing.ts"

// ---- the app's code -----------------------------------------------------------------------

class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {}) {}

/** The app's `requireSiteAdmin`, built on the current session: identical for cookie and token. */
const requireSiteAdmin = Effect.gen(function*() {
  const session = yield* CurrentSession
  if (session.user.role !== "admin") return yield* new Forbidden()
  return session
})

/** A settings loader, as an Effect program. */
const loadSettings = Effect.gen(function*() {
  const { user, session } = yield* CurrentSession
  return { email: user.email, signedInWith: session === null ? "token" : "browser" }
})

/** An API handler that answers for any caller, signed in or not. */
const whoAmI = (headers: Headers) =>
  SessionResolver.use((resolver) => resolver.resolve(headers)).pipe(
    Effect.map(({ user }) => ({ status: 200, id: user.id })),
    Effect.catchTags({
      Anonymous: () => Effect.succeed({ status: 401, id: null }),
      Deactivated: () => Effect.succeed({ status: 401, id: null }),
      InvalidToken: (e) => Effect.succeed({ status: 401, id: e.reason })
    })
  )

// ---- its tests --------------------------------------------------------------------------------

const now = new Date(0)
const ada: Session = {
  user: { id: "u1", email: "ada@example.com", name: "Ada", emailVerified: true, createdAt: now, updatedAt: now, role: "admin" },
  session: { id: "s1", userId: "u1", token: "t", expiresAt: now, createdAt: now, updatedAt: now },
  scopes: ["read", "write"]
}
const viaToken: Session = { user: { ...ada.user, role: "member" }, session: null, scopes: ["read"] }

describe("an app's own code, tested with swapped layers", () => {
  it.effect("reads the current session from a fixed one", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* loadSettings, { email: "ada@example.com", signedInWith: "browser" })
      assert.strictEqual((yield* requireSiteAdmin).user.id, "u1")
    }).pipe(Effect.provide(CurrentSession.layerTest(ada))))

  it.effect("a token caller goes through the same admin check and is refused by role, not by credential", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* loadSettings, { email: "ada@example.com", signedInWith: "token" })
      assert.deepStrictEqual(yield* Effect.flip(requireSiteAdmin), new Forbidden())
    }).pipe(Effect.provide(CurrentSession.layerTest(viaToken))))

  it.effect("a fixed failure from the resolver reaches the handler's error branches", () =>
    Effect.gen(function*() {
      const headers = new Headers()
      assert.deepStrictEqual(
        yield* whoAmI(headers).pipe(Effect.provide(SessionResolver.layerTest(new InvalidToken({ reason: "revoked" })))),
        { status: 401, id: "revoked" }
      )
      assert.deepStrictEqual(
        yield* whoAmI(headers).pipe(Effect.provide(SessionResolver.layerTest(new Deactivated({ userId: "u1", credential: "cookie", reason: "deactivated" })))),
        { status: 401, id: null }
      )
      assert.deepStrictEqual(yield* whoAmI(headers).pipe(Effect.provide(SessionResolver.layerTest(ada))), { status: 200, id: "u1" })
    }))

  it.effect("requireScope checks the current session's scopes, whichever credential it came from", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* requireScope("write").pipe(Effect.provide(CurrentSession.layerTest(ada)))).user.id, "u1")
      const refused = yield* Effect.flip(requireScope("write").pipe(Effect.provide(CurrentSession.layerTest(viaToken))))
      assert.deepStrictEqual(refused, new InsufficientScope({ scope: "write", credential: "token" }))
      const browser = yield* Effect.flip(requireScope("admin:users").pipe(Effect.provide(CurrentSession.layerTest(ada))))
      assert.deepStrictEqual(browser, new InsufficientScope({ scope: "admin:users", credential: "cookie" }))
    }))

  it.effect("CurrentSession.layer resolves the request once and fails with the resolver's error", () =>
    Effect.gen(function*() {
      const failed = yield* Effect.flip(
        loadSettings.pipe(
          Effect.provide(CurrentSession.layer(new Headers())),
          Effect.provide(SessionResolver.layerTest(new InvalidToken({ reason: "expired" })))
        )
      )
      assert.deepStrictEqual(failed, new InvalidToken({ reason: "expired" }))
    }))

  it("server functions over createAuthSession run on memory layers, with no database", async () => {
    // The app's src/lib/auth.ts, with Better Auth in its stateless mode and the layers swapped.
    const auth = betterAuth({ secret: "app-test-secret-app-test-secret-0123", telemetry: { enabled: false }, plugins: [fusionAuth()] })
    const testLayer = Layer.mergeAll(SessionResolver.layerTest(ada), Stores.layerMemory)
    const { getSession, requireSession, withSession, tokens, run, dispose } = createAuthSession(auth, { layer: testLayer })
    try {
      await run(MemoryDatabase.addUser(ada.user))
      assert.strictEqual((await getSession(new Headers()))!.user.email, "ada@example.com")
      assert.strictEqual((await requireSession(new Headers())).user.id, "u1")
      assert.deepStrictEqual(await withSession(loadSettings, new Headers()), { email: "ada@example.com", signedInWith: "browser" })
      const created = await tokens.create({ userId: "u1", name: "from a server function" })
      assert.deepStrictEqual((await tokens.list("u1")).map((t) => t.name), ["from a server function"])
      await tokens.revoke("u1", created.info.id)
      const error = await tokens.revoke("u1", "missing").catch((e: unknown) => e)
      assert.strictEqual((error as { _tag: string })._tag, "TokenNotFound")
    } finally {
      await dispose()
    }
  })
})
