/**
 * Per-token rate limits, in process: the pure rules (`core/RateLimit.ts`), their HTTP answer,
 * and `RateLimiter` over a resolver and a counter under test time: exact counts at a window's
 * edge and one millisecond either side, a token's own limit, the per-user limit across
 * tokens, cookies never counted, a refused token refused again with no resolution, and the
 * shared storage failing or hanging (closed and open).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, Context, Effect, Exit, Fiber, Layer, Logger, Redacted, Scheduler, Scope } from "effect"
import { TestClock } from "effect/testing"
import {
  ApiToken,
  errorResponse,
  RateLimit,
  RateLimitCounter,
  RateLimiter,
  SessionResolver,
  TokenPolicy,
  TokenSecret
} from "../src/effect.ts"
import { Anonymous, RateLimited, type Session, type User } from "../src/index.ts"

const W = 60_000
const user = (id: string): User => ({
  id,
  email: `${id}@example.com`,
  name: id,
  emailVerified: false,
  createdAt: new Date(0),
  updatedAt: new Date(0)
})

describe("the rate-limit rules (core/RateLimit.ts)", () => {
  it("a window ends exactly on its boundary: 1 ms before is the old one, the boundary the new one", () => {
    assert.deepStrictEqual(RateLimit.windowAt(W, 10 * W), { index: 10, resetAt: 11 * W })
    assert.deepStrictEqual(RateLimit.windowAt(W, 11 * W - 1), { index: 10, resetAt: 11 * W })
    assert.deepStrictEqual(RateLimit.windowAt(W, 11 * W), { index: 11, resetAt: 12 * W })
    assert.deepStrictEqual(RateLimit.windowAt(W, 11 * W + 1), { index: 11, resetAt: 12 * W })
  })

  it("the policy: defaults, and every value that could never work refused at start-up", () => {
    assert.deepStrictEqual(
      { ...RateLimit.make({ requests: 100 }), storageTimeout: undefined },
      { requests: 100, windowMs: 60_000, maxRequests: 100, perUser: undefined, onStorageFailure: "closed", storageTimeout: undefined }
    )
    assert.strictEqual(RateLimit.make({ requests: 1, window: "1 hour", maxRequests: 5, perUser: 9 }).windowMs, 3_600_000)
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => RateLimit.make({ requests: bad }), /requests must be a whole number above 0/)
      assert.throws(() => RateLimit.make({ requests: 1, perUser: bad }), /perUser must be a whole number/)
    }
    assert.throws(() => RateLimit.make({ requests: 1, window: "1500 millis" }), /whole number of seconds/)
    assert.throws(() => RateLimit.make({ requests: 1, window: "500 millis" }), /whole number of seconds/)
    assert.throws(() => RateLimit.make({ requests: 10, maxRequests: 5 }), /must not exceed maxRequests/)
    assert.throws(() => RateLimit.make({ requests: 1, onStorageFailure: "maybe" as "open" }), /"closed" or "open"/)
    assert.throws(() => TokenPolicy.make({ rateLimit: { requests: 0 } }), /requests/)
    assert.isUndefined(TokenPolicy.make().rateLimit, "no limit unless the app sets one")
  })

  it("the tighter count, and seconds to the reset rounded up, never 0", () => {
    const token = { scope: "token", limit: 10, used: 4 } as const
    const userCount = { scope: "user", limit: 20, used: 19 } as const
    assert.strictEqual(RateLimit.tighter(token, userCount), userCount)
    assert.strictEqual(RateLimit.tighter(userCount, token), userCount)
    const over = { scope: "user", limit: 5, used: 6 } as const
    assert.strictEqual(RateLimit.tighter(over, token), over)
    assert.strictEqual(RateLimit.tighter(token, over), over)
    assert.isFalse(RateLimit.exceeded({ scope: "token", limit: 3, used: 3 }))
    assert.isTrue(RateLimit.exceeded({ scope: "token", limit: 3, used: 4 }))
    assert.strictEqual(RateLimit.secondsUntil(W, W - 1), 1)
    assert.strictEqual(RateLimit.secondsUntil(W, W - 1001), 2)
    assert.strictEqual(RateLimit.secondsUntil(W, 0), 60)
    assert.strictEqual(RateLimit.secondsUntil(W, W), 1)
  })

  it("a 429 with Retry-After and the draft's RateLimit-Policy and RateLimit; a 503 when not counted", async () => {
    const limited = errorResponse(new RateLimited({ reason: "exceeded", scope: "token", limit: 5, window: 60, retryAfter: 17, tokenId: "tok_1" }))
    assert.strictEqual(limited.status, 429)
    assert.strictEqual(limited.headers.get("retry-after"), "17")
    assert.strictEqual(limited.headers.get("ratelimit-policy"), `"token";q=5;w=60`)
    assert.strictEqual(limited.headers.get("ratelimit"), `"token";r=0;t=17`)
    assert.strictEqual(limited.headers.get("cache-control"), "no-store")
    assert.deepStrictEqual(await limited.json(), { error: "rate_limited", reason: "RateLimited", scope: "token" })
    const perUser = errorResponse(new RateLimited({ reason: "exceeded", scope: "user", limit: 50, window: 3600, retryAfter: 1 }))
    assert.strictEqual(perUser.headers.get("ratelimit-policy"), `"user";q=50;w=3600`)
    const uncounted = errorResponse(new RateLimited({ reason: "unavailable", scope: "token", limit: 5, window: 60, retryAfter: 1 }))
    assert.strictEqual(uncounted.status, 503)
    assert.strictEqual(uncounted.headers.get("retry-after"), "1")
    assert.isNull(uncounted.headers.get("ratelimit"))
    assert.deepStrictEqual(await uncounted.json(), { error: "temporarily_unavailable", reason: "RateLimited" })
  })
})

/** Callers by their Authorization header, and how many times each was resolved. */
const callers = () => {
  const sessions = new Map<string, Session>()
  const resolved = new Map<string, number>()
  const add = (session: Session) => {
    const token = Redacted.value(ApiToken.generate())
    sessions.set(`Bearer ${token}`, session)
    return new Headers({ authorization: `Bearer ${token}` })
  }
  const resolver = Layer.succeed(
    SessionResolver,
    SessionResolver.of({
      // As the real resolver, the work is done when the effect runs, not when it is made.
      resolve: (headers) =>
        Effect.suspend(() => {
          const key = headers.get("authorization") ?? headers.get("cookie") ?? ""
          resolved.set(key, (resolved.get(key) ?? 0) + 1)
          const session = sessions.get(key)
          return session === undefined ? Effect.fail(new Anonymous()) : Effect.succeed(session)
        })
    })
  )
  return { add, resolver, resolved: (headers: Headers) => resolved.get(headers.get("authorization") ?? "") ?? 0, sessions }
}

const limiter = (
  resolver: Layer.Layer<SessionResolver>,
  rateLimit: RateLimit.RateLimitOptions,
  counter: Layer.Layer<RateLimitCounter> = RateLimitCounter.layerMemory
) =>
  RateLimiter.layer.pipe(
    Layer.provide(Layer.mergeAll(resolver, counter, TokenPolicy.layer({ rateLimit }), TokenSecret.layer(undefined)))
  )

const admit = (headers: Headers) => RateLimiter.use((l) => l.admit(headers))

/** The memory counter as an app's own would be: `increment` alone (no `incrementNow`, no `begin`), each count an effect waited for. */
const incrementAlone = Layer.effect(
  RateLimitCounter,
  Effect.gen(function*() {
    const memory = yield* RateLimitCounter
    return RateLimitCounter.of({ increment: memory.increment })
  })
).pipe(Layer.provide(RateLimitCounter.layerMemory))

for (
  const [counted, counter] of [
    ["in memory", RateLimitCounter.layerMemory],
    ["by an app's own counter (increment alone)", incrementAlone]
  ] as const
) {
  describe(`RateLimiter, counted ${counted} under test time`, () => {
    it.effect("exactly the limit per window: refused from the next request until 1 ms before the edge, admitted at it", () => {
      const c = callers()
      const alice = c.add({ user: user("alice"), session: null, scopes: [], tokenId: "tok_alice" })
      return Effect.gen(function*() {
        yield* TestClock.setTime(10 * W)
        for (let i = 0; i < 3; i++) assert.strictEqual((yield* admit(alice)).user.id, "alice")
        const refused = yield* Effect.flip(admit(alice))
        assert.deepStrictEqual(refused, new RateLimited({ reason: "exceeded", scope: "token", limit: 3, window: 60, retryAfter: 60, tokenId: "tok_alice" }))
        yield* TestClock.setTime(11 * W - 1)
        const last = yield* Effect.flip(admit(alice))
        assert.strictEqual((last as RateLimited).retryAfter, 1)
        yield* TestClock.setTime(11 * W)
        for (let i = 0; i < 3; i++) assert.strictEqual((yield* admit(alice)).user.id, "alice", `request ${i + 1} of the new window`)
        assert.strictEqual(((yield* Effect.flip(admit(alice))) as RateLimited).retryAfter, 60)
        yield* TestClock.setTime(12 * W + 1)
        assert.strictEqual((yield* admit(alice)).user.id, "alice")
      }).pipe(Effect.provide(limiter(c.resolver, { requests: 3, window: "1 minute" }, counter)))
    })

    it.effect("a token's own limit; tokens are counted apart; a refused token is refused again with no resolution", () => {
      const c = callers()
      const own = c.add({ user: user("bob"), session: null, scopes: [], tokenId: "tok_own", rateLimit: 1 })
      const other = c.add({ user: user("bob"), session: null, scopes: [], tokenId: "tok_default" })
      return Effect.gen(function*() {
        yield* TestClock.setTime(5 * W + 30_000)
        yield* admit(own)
        for (let i = 0; i < 5; i++) assert.strictEqual(((yield* Effect.flip(admit(own))) as RateLimited).limit, 1)
        assert.strictEqual(c.resolved(own), 2, "resolved for the first refusal, then refused from memory")
        for (let i = 0; i < 4; i++) yield* admit(other)
        assert.strictEqual(((yield* Effect.flip(admit(other))) as RateLimited).limit, 4)
        yield* TestClock.setTime(6 * W)
        yield* admit(own)
        assert.strictEqual(c.resolved(own), 3, "a new window resolves again")
      }).pipe(Effect.provide(limiter(c.resolver, { requests: 4, maxRequests: 10 }, counter)))
    })

    it.effect("the per-user limit holds across all of a user's tokens, and not across users", () => {
      const c = callers()
      const one = c.add({ user: user("carol"), session: null, scopes: [], tokenId: "tok_c1" })
      const two = c.add({ user: user("carol"), session: null, scopes: [], tokenId: "tok_c2" })
      const dave = c.add({ user: user("dave"), session: null, scopes: [], tokenId: "tok_d" })
      return Effect.gen(function*() {
        yield* TestClock.setTime(7 * W)
        for (let i = 0; i < 3; i++) yield* admit(one)
        for (let i = 0; i < 2; i++) yield* admit(two)
        const refused = (yield* Effect.flip(admit(two))) as RateLimited
        assert.strictEqual(refused.scope, "user")
        assert.strictEqual(refused.limit, 5)
        assert.strictEqual(refused.tokenId, "tok_c2")
        for (let i = 0; i < 5; i++) yield* admit(dave)
      }).pipe(Effect.provide(limiter(c.resolver, { requests: 10, perUser: 5 }, counter)))
    })

    it.effect("a cookie session and a refusal are never counted; the three errors pass through as they are", () => {
      const c = callers()
      const cookie = c.add({ user: user("erin"), session: { id: "s", userId: "erin", token: "t", expiresAt: new Date(9e12), createdAt: new Date(0), updatedAt: new Date(0) }, scopes: [] })
      return Effect.gen(function*() {
        for (let i = 0; i < 20; i++) assert.strictEqual((yield* admit(cookie)).user.id, "erin")
        assert.deepStrictEqual(yield* Effect.flip(admit(new Headers())), new Anonymous())
      }).pipe(Effect.provide(limiter(c.resolver, { requests: 1 }, counter)))
    })

    it.effect("the window is the clock's the request runs under, not the one the limiter was built under", () => {
      const c = callers()
      const gus = c.add({ user: user("gus"), session: null, scopes: [], tokenId: "tok_g" })
      return Effect.gen(function*() {
        // Built under the live clock (a layer made once, elsewhere), used under test time.
        const built = yield* Layer.build(limiter(c.resolver, { requests: 1 }, counter)).pipe(Effect.provideService(Clock.Clock, Clock.Clock.defaultValue()))
        const admitBuilt = admit(gus).pipe(Effect.provide(built))
        yield* TestClock.setTime(80 * W)
        yield* admitBuilt
        const refused = (yield* Effect.flip(admitBuilt)) as RateLimited
        assert.strictEqual(refused.retryAfter, 60, "the window of test time, which ends in 60 s")
        yield* TestClock.setTime(81 * W)
        assert.strictEqual((yield* admitBuilt).user.id, "gus", "the next window of test time")
      }).pipe(Effect.scoped)
    })

    it.effect("with no rateLimit in the policy, admit is the resolver's resolve: nothing is counted", () => {
      const c = callers()
      const frank = c.add({ user: user("frank"), session: null, scopes: [], tokenId: "tok_f" })
      return Effect.gen(function*() {
        for (let i = 0; i < 50; i++) yield* admit(frank)
        assert.strictEqual(c.resolved(frank), 50)
      }).pipe(Effect.provide(RateLimiter.layer.pipe(
        Layer.provide(Layer.mergeAll(c.resolver, counter, TokenPolicy.layer(), TokenSecret.layer(undefined)))
      )))
    })
  })
}

describe("RateLimitCounter in memory", () => {
  it.effect("a request of the last window answered after the edge counts in its own window, not over the new one's", () =>
    Effect.gen(function*() {
      const counter = yield* RateLimitCounter
      const inc = (index: number) => counter.increment("token:t", { index, resetAt: (index + 1) * W })
      assert.deepStrictEqual([yield* inc(10), yield* inc(11), yield* inc(10), yield* inc(11), yield* inc(12), yield* inc(11)], [1, 1, 2, 2, 1, 3])
      assert.strictEqual(yield* counter.increment("token:other", { index: 12, resetAt: 13 * W }), 1, "keys are counted apart")
    }).pipe(Effect.provide(RateLimitCounter.layerMemory)))
})

describe("RateLimiter over a shared storage that answers", () => {
  /** A storage counting in a map, and what happened in which order: counts started, resolutions finished. */
  const shared = () => {
    const counts = new Map<string, number>()
    const events: Array<string> = []
    const storage = {
      increment: (key: string) => {
        const count = (counts.get(key) ?? 0) + 1
        counts.set(key, count)
        events.push(`count ${key.split(":")[3]}`)
        return Promise.resolve(count)
      }
    }
    return { storage, events, counted: (token: string) => [...counts].filter(([key]) => key.includes(`:${token}:`)).reduce((n, [, c]) => n + c, 0) }
  }
  /** `callers()`'s resolver, each resolution taking 10 ms of test time and noted when it ends. */
  const slow = (c: ReturnType<typeof callers>, events: Array<string>) =>
    Layer.effect(
      SessionResolver,
      Effect.gen(function*() {
        const inner = yield* SessionResolver
        return SessionResolver.of({
          resolve: (headers) =>
            Effect.sleep("10 millis").pipe(
              Effect.andThen(inner.resolve(headers)),
              Effect.ensuring(Effect.sync(() => events.push("resolved")))
            )
        })
      })
    ).pipe(Layer.provide(c.resolver))

  /** A request through `slow`'s resolver, its 10 ms of test time passed. */
  const settle = <A, E>(effect: Effect.Effect<A, E, RateLimiter>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(effect)
      yield* TestClock.adjust("10 millis")
      return yield* Fiber.join(fiber)
    })

  it.effect("a token admitted before has its count started alongside its resolution; the counts stay exact", () => {
    const c = callers()
    const kim = c.add({ user: user("kim"), session: null, scopes: [], tokenId: "tok_k", lineageId: "tok_k" })
    const { storage, events, counted } = shared()
    return Effect.gen(function*() {
      yield* TestClock.setTime(20 * W)
      assert.strictEqual((yield* settle(admit(kim))).user.id, "kim")
      assert.deepStrictEqual(events.splice(0), ["resolved", "count tok_k"], "a token not seen before: counted once its session is known")
      const fiber = yield* Effect.forkChild(admit(kim))
      yield* Effect.yieldNow
      assert.deepStrictEqual(events, ["count tok_k"], "seen before: counted while its resolution is still running")
      yield* TestClock.adjust("10 millis")
      assert.strictEqual((yield* Fiber.join(fiber)).user.id, "kim")
      assert.deepStrictEqual(events.splice(0), ["count tok_k", "resolved"])
      assert.strictEqual((yield* settle(admit(kim))).user.id, "kim")
      const refused = (yield* Effect.flip(settle(admit(kim)))) as RateLimited
      assert.strictEqual(refused._tag, "RateLimited")
      assert.strictEqual(refused.limit, 3)
      assert.strictEqual(counted("tok_k"), 4, "one count per request, the refused one included")
      yield* Effect.flip(admit(kim))
      assert.strictEqual(counted("tok_k"), 4, "then refused from memory, uncounted")
    }).pipe(Effect.provide(limiter(slow(c, events), { requests: 3 }, RateLimitCounter.layerStorage(storage))))
  })

  it.effect("a token refused by resolution (revoked, say) is counted at most once more, then forgotten; its error is resolution's", () => {
    const c = callers()
    const lou = c.add({ user: user("lou"), session: null, scopes: [], tokenId: "tok_l", lineageId: "tok_l" })
    const { storage, counted } = shared()
    return Effect.gen(function*() {
      yield* TestClock.setTime(30 * W)
      yield* admit(lou)
      yield* admit(lou)
      assert.strictEqual(counted("tok_l"), 2)
      c.sessions.delete(lou.get("authorization")!)
      for (let i = 0; i < 5; i++) assert.deepStrictEqual(yield* Effect.flip(admit(lou)), new Anonymous())
      assert.strictEqual(counted("tok_l"), 3, "the first refused request was counted alongside, the next four not")
    }).pipe(Effect.provide(limiter(c.resolver, { requests: 100 }, RateLimitCounter.layerStorage(storage))))
  })

  it.effect("one early count per token at a time: 8 requests in flight for a token revoked meanwhile add 1 to its lineage, not 8", () => {
    const c = callers()
    const nia = c.add({ user: user("nia"), session: null, scopes: [], tokenId: "tok_n", lineageId: "tok_n" })
    const { storage, events, counted } = shared()
    return Effect.gen(function*() {
      yield* TestClock.setTime(50 * W)
      yield* settle(admit(nia))
      c.sessions.delete(nia.get("authorization")!)
      const fibers = yield* Effect.forEach(Array.from({ length: 8 }), () => Effect.forkChild(admit(nia)))
      yield* TestClock.adjust("10 millis")
      for (const fiber of fibers) assert.deepStrictEqual(yield* Effect.flip(Fiber.join(fiber)), new Anonymous())
      assert.strictEqual(counted("tok_n"), 2)
      events.splice(0)
      yield* Effect.flip(settle(admit(nia)))
      assert.deepStrictEqual(events, ["resolved"], "forgotten: not counted, early or late")
    }).pipe(Effect.provide(limiter(slow(c, events), { requests: 100 }, RateLimitCounter.layerStorage(storage))))
  })

  it.effect("the database failing under a token counted early: the failure passes through, and the token is counted early no more", () => {
    const c = callers()
    const ola = c.add({ user: user("ola"), session: null, scopes: [], tokenId: "tok_o", lineageId: "tok_o" })
    const { storage, counted } = shared()
    let down = false
    const flaky = Layer.effect(
      SessionResolver,
      Effect.gen(function*() {
        const inner = yield* SessionResolver
        return SessionResolver.of({ resolve: (headers) => Effect.suspend(() => down ? Effect.die(new Error("connection terminated")) : inner.resolve(headers)) })
      })
    ).pipe(Layer.provide(c.resolver))
    return Effect.gen(function*() {
      yield* TestClock.setTime(60 * W)
      yield* admit(ola)
      down = true
      for (let i = 0; i < 4; i++) assert.isTrue(Exit.hasDies(yield* Effect.exit(admit(ola))))
      assert.strictEqual(counted("tok_o"), 2, "one request of the outage counted (early), the next three not")
      down = false
      yield* admit(ola)
      assert.strictEqual(counted("tok_o"), 3)
    }).pipe(Effect.provide(limiter(flaky, { requests: 100 }, RateLimitCounter.layerStorage(storage))))
  })

  it.effect("a counter of the app's own with increment alone counts exactly, after resolution", () => {
    const c = callers()
    const pat = c.add({ user: user("pat"), session: null, scopes: [], tokenId: "tok_p" })
    let n = 0
    const own = Layer.succeed(RateLimitCounter, RateLimitCounter.of({ increment: () => Effect.sync(() => ++n) }))
    return Effect.gen(function*() {
      yield* TestClock.setTime(70 * W)
      for (let i = 0; i < 2; i++) yield* admit(pat)
      assert.strictEqual(((yield* Effect.flip(admit(pat))) as RateLimited).limit, 2)
      assert.strictEqual(n, 3)
    }).pipe(Effect.provide(limiter(c.resolver, { requests: 2 }, own)))
  })

  it.effect("per user: both counts start alongside, and the tighter limit refuses", () => {
    const c = callers()
    const one = c.add({ user: user("mia"), session: null, scopes: [], tokenId: "tok_m1", lineageId: "tok_m1" })
    const two = c.add({ user: user("mia"), session: null, scopes: [], tokenId: "tok_m2", lineageId: "tok_m2" })
    const { storage, events } = shared()
    return Effect.gen(function*() {
      yield* TestClock.setTime(40 * W)
      for (let i = 0; i < 2; i++) yield* settle(admit(one))
      yield* settle(admit(two))
      events.splice(0)
      const refused = (yield* Effect.flip(settle(admit(two)))) as RateLimited
      assert.deepStrictEqual(events, ["count tok_m2", "count mia", "resolved"], "both started before the resolution ended")
      assert.strictEqual(refused.scope, "user")
      assert.strictEqual(refused.limit, 3)
    }).pipe(Effect.provide(limiter(slow(c, events), { requests: 10, perUser: 3 }, RateLimitCounter.layerStorage(storage))))
  })
})

describe("RateLimiter over a shared storage that fails", () => {
  const failing = RateLimitCounter.layerStorage({ increment: () => Promise.reject(new Error("connection refused")) })
  const garbled = RateLimitCounter.layerStorage({ increment: () => Promise.resolve("OK") })
  const hanging = RateLimitCounter.layerStorage({ increment: () => new Promise(() => undefined) }, "250 millis")

  it.effect("closed (the default): a 503-shaped refusal, never a session; a garbled answer counts as a failure", () => {
    const c = callers()
    const gina = c.add({ user: user("gina"), session: null, scopes: [], tokenId: "tok_g" })
    return Effect.gen(function*() {
      for (const counter of [failing, garbled]) {
        const refused = yield* Effect.flip(admit(gina).pipe(Effect.provide(limiter(c.resolver, { requests: 5 }, counter))))
        assert.deepStrictEqual(refused, new RateLimited({ reason: "unavailable", scope: "token", limit: 5, window: 60, retryAfter: 1, tokenId: "tok_g" }))
      }
    })
  })

  it.effect("a storage that hangs is given up on after storageTimeout", () => {
    const c = callers()
    const hal = c.add({ user: user("hal"), session: null, scopes: [], tokenId: "tok_h" })
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(admit(hal))
      yield* TestClock.adjust("249 millis")
      assert.isUndefined(fiber.pollUnsafe(), "still waiting 1 ms before the timeout")
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(((yield* Effect.flip(Fiber.join(fiber))) as RateLimited).reason, "unavailable")
    }).pipe(Effect.provide(limiter(c.resolver, { requests: 5 }, hanging)))
  })

  it.effect("with perUser, the two counts are waited for together: the token's answering late does not restart the user's timeout", () => {
    const c = callers()
    const quinn = c.add({ user: user("quinn"), session: null, scopes: [], tokenId: "tok_q" })
    let answerToken = (_count: number) => {}
    // The token's count answers when the test says; the user's never does.
    const lateThenHanging = RateLimitCounter.layerStorage({
      increment: (key: string) => key.includes(":token:") ? new Promise<number>((resolve) => answerToken = resolve) : new Promise(() => undefined)
    }, "250 millis")
    return Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(admit(quinn))
      yield* TestClock.adjust("200 millis")
      answerToken(1)
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      yield* TestClock.adjust("49 millis")
      assert.isUndefined(fiber.pollUnsafe(), "still waiting 1 ms before the timeout")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(((yield* Effect.flip(Fiber.join(fiber))) as RateLimited).reason, "unavailable", "given up 250 ms after the wait began, not 250 ms after the token's answer")
    }).pipe(Effect.provide(limiter(c.resolver, { requests: 5, perUser: 10 }, lateThenHanging)))
  })

  it.effect("waits are given up each at its own due, none early or late: a count answered in time is kept, an interrupted wait drops out, and after a quiet spell the next hang is still given up", () => {
    // Each key's count answers when the test says (or never); every wait has the same 250 ms.
    const answers = new Map<string, (count: number) => void>()
    const counter = RateLimitCounter.layerStorage({ increment: (key: string) => new Promise<number>((resolve) => answers.set(key.split(":")[2]!, resolve)) }, "250 millis")
    const at = RateLimit.windowAt(W, 0)
    return Effect.gen(function*() {
      const { begin } = yield* RateLimitCounter
      const waitFor = (key: string) => Effect.flatMap(begin!(key, at), (wait) => Effect.forkChild(wait))
      const pending = (fiber: Fiber.Fiber<number, unknown>) => fiber.pollUnsafe() === undefined
      const gaveUp = (fiber: Fiber.Fiber<number, unknown>) =>
        Effect.map(Effect.flip(Fiber.join(fiber)), (error) => String((error as { cause: unknown }).cause))

      const a = yield* waitFor("a") // t=0, never answered
      const b = yield* waitFor("b") // t=0, answered at 100
      yield* TestClock.adjust("100 millis")
      answers.get("b")!(7)
      assert.strictEqual(yield* Fiber.join(b), 7)
      yield* TestClock.adjust("50 millis")
      const c = yield* waitFor("c") // t=150, never answered
      const d = yield* waitFor("d") // t=150, interrupted at 200
      yield* TestClock.adjust("50 millis")
      yield* Fiber.interrupt(d)
      yield* TestClock.adjust("49 millis")
      assert.isTrue(pending(a), "1 ms before a's due")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* gaveUp(a), "secondaryStorage.increment took too long")
      assert.isTrue(pending(c))
      yield* TestClock.adjust("149 millis")
      assert.isTrue(pending(c), "1 ms before c's due, 250 ms after it began, not after a's")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* gaveUp(c), "secondaryStorage.increment took too long")
      answers.get("a")!(1) // answered after being given up: nothing left to settle

      yield* TestClock.adjust("10 seconds") // nothing waits
      const e = yield* waitFor("e")
      yield* TestClock.adjust("249 millis")
      assert.isTrue(pending(e))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* gaveUp(e), "secondaryStorage.increment took too long")

      const f = yield* begin!("f", at) // one count waited for twice: both get its answer
      const [f1, f2] = [yield* Effect.forkChild(f), yield* Effect.forkChild(f)]
      yield* TestClock.adjust("10 millis")
      answers.get("f")!(3)
      assert.deepStrictEqual([yield* Fiber.join(f1), yield* Fiber.join(f2)], [3, 3])
    }).pipe(Effect.provide(counter))
  })

  it.effect("at today's times (monotonic nanoseconds as floats a hair off), a wait is still given up exactly at its due", () =>
    Effect.gen(function*() {
      const times: ReadonlyArray<readonly [number, number]> = [[1387551345885, 14586], [1221653310826, 97014], [1199558267383.429, 13506], [Date.now(), 1]]
      for (const [wall, since] of times) {
        yield* TestClock.setTime(wall)
        yield* TestClock.adjust(since)
        yield* Effect.gen(function*() {
          const { increment } = yield* RateLimitCounter
          const waiting = yield* Effect.forkChild(increment("k", RateLimit.windowAt(W, wall)))
          yield* TestClock.adjust("499 millis")
          assert.isUndefined(waiting.pollUnsafe(), "1 ms before its due")
          yield* TestClock.adjust("1 millis")
          const exit = waiting.pollUnsafe()
          assert.isTrue(exit !== undefined && Exit.isFailure(exit), `given up at its due (${wall} + ${since})`)
        }).pipe(Effect.provide(RateLimitCounter.layerStorage({ increment: () => new Promise<number>(() => undefined) }, "500 millis")))
      }
    }))

  it.live("a hung storage under load: 2,000 waits due at once are all given up at their due, not one per turn of a busy event loop", () =>
    Effect.gen(function*() {
      // A loaded process: every turn of the event loop costs 1 ms of other work.
      let busy = true
      const spin = () => {
        if (!busy) return
        const until = performance.now() + 1
        while (performance.now() < until);
        setImmediate(spin)
      }
      setImmediate(spin)
      const at = RateLimit.windowAt(W, Date.now())
      const { increment } = yield* RateLimitCounter
      const began = performance.now()
      const fibers = yield* Effect.forEach(Array.from({ length: 2000 }, (_, i) => i), (i) => Effect.forkChild(increment(`k${i}`, at)))
      const exits = yield* Fiber.awaitAll(fibers)
      const took = performance.now() - began
      busy = false
      assert.isTrue(exits.every(Exit.isFailure))
      assert.isBelow(took, 400, `the last given up ${took.toFixed(0)} ms after the first began (timeout 50 ms)`)
    }).pipe(Effect.provide(RateLimitCounter.layerStorage({ increment: () => new Promise<number>(() => undefined) }, "50 millis"))))

  it.live("a count answered while its request yields, between reading the answer and waiting for it, is still its answer", () =>
    Effect.gen(function*() {
      // The storage answers after k turns of the event loop; the request yields after every operation.
      const after = (k: number, answer: () => void): void => k === 0 ? answer() : void setImmediate(() => after(k - 1, answer))
      const at = RateLimit.windowAt(W, Date.now())
      for (let k = 0; k <= 8; k++) {
        const exit = yield* Effect.gen(function*() {
          const { increment } = yield* RateLimitCounter
          return yield* Effect.exit(increment("a", at).pipe(Effect.provideService(Scheduler.MaxOpsBeforeYield, 1)))
        }).pipe(Effect.provide(RateLimitCounter.layerStorage({ increment: () => new Promise<number>((resolve) => after(k, () => resolve(5))) }, "200 millis")))
        assert.deepStrictEqual(exit, Exit.succeed(5), `answered after ${k} turns`)
      }
    }))

  it.live("the runtime disposed while requests wait: they are given up at once, and a later wait too", () =>
    Effect.gen(function*() {
      const at = RateLimit.windowAt(W, Date.now())
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(RateLimitCounter.layerStorage({ increment: () => new Promise<number>(() => undefined) }, "1 hour"), scope)
      const { increment } = Context.get(context, RateLimitCounter)
      const waiting = yield* Effect.forkChild(increment("k", at))
      yield* Effect.sleep("10 millis")
      yield* Scope.close(scope, Exit.void)
      const cause = (exit: Exit.Exit<number, unknown>) => Exit.isFailure(exit) ? String((Cause.squash(exit.cause) as { cause: unknown }).cause) : "answered"
      assert.strictEqual(cause(yield* Effect.timeout(Fiber.await(waiting), "1 second")), "secondaryStorage.increment took too long")
      assert.strictEqual(cause(yield* Effect.timeout(Effect.exit(increment("later", at)), "1 second")), "secondaryStorage.increment took too long")
    }))

  it.effect("open: admitted uncounted, as the user the database gave; a warning at most once a window, in either mode", () => {
    const c = callers()
    const ivy = c.add({ user: user("ivy"), session: null, scopes: [], tokenId: "tok_i" })
    const lines: Array<string> = []
    const logs = Logger.layer([Logger.make((options) => lines.push(String(options.message)))])
    return Effect.gen(function*() {
      yield* TestClock.setTime(3 * W)
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* admit(ivy)).user.id, "ivy")
      assert.strictEqual(lines.length, 1)
      assert.include(lines[0], `admitting token callers, as onStorageFailure is "open"`)
      yield* TestClock.setTime(4 * W - 1)
      yield* admit(ivy)
      assert.strictEqual(lines.length, 1, "not again within the window")
      yield* TestClock.setTime(4 * W + 30_000)
      yield* admit(ivy)
      assert.strictEqual(lines.length, 2)
      for (const line of lines) assert.notInclude(line, c.sessions.keys().next().value!.slice(15))
    }).pipe(Effect.provide(Layer.merge(limiter(c.resolver, { requests: 1, onStorageFailure: "open" }, failing), logs)))
  })

  it.effect("a secondaryStorage without increment is refused at start-up when limits are on, ignored when off", () =>
    Effect.gen(function*() {
      const old = { get: () => null, set: () => undefined, delete: () => undefined }
      const built = (policy: TokenPolicy.TokenPolicyOptions) =>
        Effect.exit(Effect.provide(RateLimitCounter.use(() => Effect.void), RateLimitCounter.layerFor(old).pipe(Layer.provide(TokenPolicy.layer(policy)))))
      const on = yield* built({ rateLimit: { requests: 1 } })
      assert.isTrue(Exit.isFailure(on))
      assert.match(String(Exit.isFailure(on) ? on.cause : ""), /needs secondaryStorage\.increment/)
      const off = yield* built({})
      assert.isTrue(Exit.isSuccess(off))
    }))
})
