/**
 * Fewer statements than requests: resolutions in flight at the same moment share one
 * statement (`Batch.statements`: the keys as one `text[]`), counted on the wire; alone, each is today's one statement (`= $1`).
 * Every answer in a batch is its own caller's: right user, refusals where due, a change
 * visible before a request began is in its answer.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import { MAX_BATCH } from "../src/sql/Batch.ts"
import { signUp } from "./support/auth.ts"
import { sqlBackends } from "./support/databases.ts"
import type { WireCounter } from "./support/wire.ts"
import { type WiredApp, wiredApp } from "./support/wired-app.ts"

/** The elements in a one-dimensional array parameter: text format `{a,b}`, or binary (ndim, flags, type, then the dimension's length). */
const arrayLength = (param: Buffer) =>
  param[0] === 0x7b ? param.toString("utf8").slice(1, -1).split(",").length : param.readInt32BE(0) === 1 ? param.readInt32BE(12) : 0

const bearer = (token: Redacted.Redacted<string>) => new Headers({ authorization: `Bearer ${Redacted.value(token)}` })

for (const backend of sqlBackends) {
  describe(`batched resolution on ${backend.name}`, () => {
    let wired: WiredApp
    let wire: WireCounter
    let setup: WiredApp["setup"]
    let app: WiredApp["app"]
    const people: Array<{ userId: string; cookie: string; token: Redacted.Redacted<string> }> = []

    beforeAll(async () => {
      wired = await wiredApp(backend)
      ;({ wire, setup, app } = wired)
      for (let i = 0; i < 40; i++) {
        const { userId, cookie } = await signUp(setup.auth, `batch${i}.${Math.random().toString(36).slice(2, 8)}@example.com`)
        const { token } = await app.tokens.create({ userId, name: "batch" })
        people.push({ userId, cookie, token })
      }
      await app.getSession(new Headers({ cookie: people[0]!.cookie })) // start-up work done
    }, 120_000)
    afterAll(() => wired.close())

    const lookups = () => wire.statements().filter((s) => / from "apiToken" t join | from "session" s join /.test(s.text))

    it("one at a time: one statement each, the single-key one", async () => {
      wire.reset()
      for (const person of people.slice(0, 5)) {
        assert.strictEqual((await app.getSession(bearer(person.token)))!.user.id, person.userId)
        assert.strictEqual((await app.getSession(new Headers({ cookie: person.cookie })))!.user.id, person.userId)
      }
      assert.strictEqual(lookups().length, 10)
      for (const statement of lookups()) assert.match(statement.text, /= \$1( limit 1)?$/)
    })

    it("40 tokens and 40 cookies at once: of each kind, the first alone and the rest in statements of at most MAX_BATCH keys; every caller answered as themselves", async () => {
      wire.reset()
      const answers = await Promise.all(people.flatMap((person) => [
        app.getSession(bearer(person.token)).then((s) => [person.userId, s?.user.id, s?.session === null] as const),
        app.getSession(new Headers({ cookie: person.cookie })).then((s) => [person.userId, s?.user.id, s?.session === null] as const)
      ]))
      for (const [i, [expected, got, viaToken]] of answers.entries()) {
        assert.strictEqual(got, expected)
        assert.strictEqual(viaToken, i % 2 === 0)
      }
      const statements = lookups()
      const perKind = 1 + Math.ceil((people.length - 1) / MAX_BATCH)
      assert.isAtMost(statements.length, 2 * perKind, statements.map((s) => s.text.slice(0, 60)).join("\n"))
      assert.isTrue(statements.some((s) => /generate_subscripts\(\$1::text\[\]/.test(s.text)))
      assert.isFalse(wire.statements().some((s) => s.write))
    })

    it("lookups of the same few keys share a batch's place: 40 requests carrying 2 cookies cost the first alone and one batch", async () => {
      wire.reset()
      const two = people.slice(0, 2)
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => {
        const person = two[i % 2]!
        return app.getSession(new Headers({ cookie: person.cookie })).then((s) => s?.user.id === person.userId)
      }))
      assert.isTrue(answers.every(Boolean))
      const sizes = lookups().map((s) => (/\$1::text\[\]/.test(s.text) ? arrayLength(s.params[0]!) : 1))
      assert.isAtMost(sizes.length, 2, `statements of ${sizes.join(", ")} keys`)
    })

    it("32 callers resolving back to back (each starts its next request when its last is answered): at most 0.25 statements per resolution, none sent alone ahead of a waiting batch", async () => {
      wire.reset()
      const rounds = 20
      const wrong: Array<string> = []
      await Promise.all(people.slice(0, 32).map(async (person, i) => {
        for (let round = 0; round < rounds; round++) {
          const viaToken = (i + round) % 2 === 0
          const session = await app.getSession(viaToken ? bearer(person.token) : new Headers({ cookie: person.cookie }))
          if (session?.user.id !== person.userId || (session.session === null) !== viaToken) wrong.push(`${i}/${round}`)
        }
      }))
      assert.deepStrictEqual(wrong, [])
      const perResolution = lookups().length / (32 * rounds)
      assert.isAtMost(perResolution, 0.25, `${lookups().length} statements for ${32 * rounds} resolutions`)
    })

    it("more than MAX_BATCH distinct tokens at once: several statements, none over MAX_BATCH keys", async () => {
      const extra = await Promise.all(Array.from({ length: MAX_BATCH + 26 }, async (_, i) => {
        const person = people[i % 30]!
        const { token } = await app.tokens.create({ userId: person.userId, name: `extra${i}` })
        return { userId: person.userId, token }
      }))
      wire.reset()
      const answers = await Promise.all(extra.map((e) => app.getSession(bearer(e.token)).then((s) => s?.user.id === e.userId)))
      assert.isTrue(answers.every(Boolean))
      // MAX_BATCH + 26 distinct keys at ≤ MAX_BATCH a statement: at least two statements, and far fewer than one each.
      assert.isAtLeast(lookups().length, 2)
      assert.isAtMost(lookups().length, 2 + Math.ceil(extra.length / MAX_BATCH))
      const sizes = lookups().map((s) => (/\$1::text\[\]/.test(s.text) ? arrayLength(s.params[0]!) : 1))
      assert.strictEqual(sizes.reduce((a, b) => a + b, 0), extra.length)
      assert.isAtMost(Math.max(...sizes), MAX_BATCH)
    })

    it("in one batch, each caller gets their own answer: a deactivated user, a revoked token and an unknown token are refused, the others not", async () => {
      const [deactivated, revoked, ...rest] = people.slice(30, 40)
      await app.users.deactivate(deactivated!.userId)
      const info = await app.tokens.list(revoked!.userId)
      await app.tokens.revoke(revoked!.userId, info[0]!.id)
      const unknown = Redacted.make(Redacted.value(rest[0]!.token).slice(0, -4) + "AAAA")
      wire.reset()
      const [a, b, c, d, ...others] = await Promise.all([
        app.getSession(bearer(deactivated!.token)),
        app.getSession(new Headers({ cookie: deactivated!.cookie })),
        app.getSession(bearer(revoked!.token)),
        app.getSession(bearer(unknown)),
        ...rest.map((person) => app.getSession(bearer(person.token)))
      ])
      assert.isNull(a)
      assert.isNull(b)
      assert.isNull(c)
      assert.isNull(d)
      assert.deepStrictEqual(others.map((s) => s?.user.id), rest.map((p) => p.userId))
      assert.isAtMost(lookups().length, 3)
      await app.users.reactivate(deactivated!.userId)
    })

    it("malformed tokens cost no statement, alone or many at once", async () => {
      wire.reset()
      const refused = await Promise.all(Array.from({ length: 50 }, (_, i) => app.getSession(new Headers({ authorization: `Bearer sk_live_${i}` }))))
      assert.isTrue(refused.every((s) => s === null))
      assert.strictEqual(wire.statements().length, 0)
    })
  })
}
