/**
 * Big tables stay cheap: every statement the request path sends (a token alone and in a
 * batch, a cookie alone and in a batch) is served by an index, never a scan of a table. Each
 * is captured off the wire as fusion-auth sent it, prepared, and its plan read with `EXPLAIN`
 * with sequential scans priced out (`enable_seqscan = off`): a statement no index can serve
 * still shows a `Seq Scan` then. With 3,000 more users and tokens, a batch, executed with 2
 * to 64 keys (beyond the 16 one carries, `MAX_BATCH`), scans no table even where Postgres may, and is planned once
 * (`pg_prepared_statements`: generic plans, no custom plan after Postgres's first five).
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import pg from "pg"
import { afterAll, beforeAll } from "vitest"
import { signUp } from "./support/auth.ts"
import { sqlBackends } from "./support/databases.ts"
import { type WiredApp, wiredApp } from "./support/wired-app.ts"

for (const backend of sqlBackends) {
  describe(`request-path plans on ${backend.name}`, () => {
    let wired: WiredApp

    beforeAll(async () => {
      wired = await wiredApp(backend)
    }, 60_000)
    afterAll(() => wired.close())

    it("every request-path statement, alone and batched, is an index lookup; a batch keeps one plan whatever its size", async () => {
      const { setup, app, wire } = wired
      const people = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
        const { userId, cookie } = await signUp(setup.auth, `plan${i}.${Math.random().toString(36).slice(2, 8)}@example.com`)
        const { token } = await app.tokens.create({ userId, name: "plan" })
        return { cookie, headers: new Headers({ authorization: `Bearer ${Redacted.value(token)}` }) }
      }))
      await app.getSession(new Headers({ cookie: people[0]!.cookie }))
      wire.reset()
      await app.getSession(people[0]!.headers)
      await app.getSession(new Headers({ cookie: people[0]!.cookie }))
      await Promise.all(people.flatMap((p) => [app.getSession(p.headers), app.getSession(new Headers({ cookie: p.cookie }))]))
      const texts = [...new Set(wire.statements().map((s) => s.text))]
      assert.strictEqual(texts.length, 4, texts.join("\n")) // token one/many, session one/many

      const client = new pg.Client({ connectionString: wired.url })
      await client.connect()
      try {
        await client.query("set enable_seqscan = off")
        for (const [i, text] of texts.entries()) {
          await client.query(`prepare p${i} as ${text}`)
          const value = /\$1::text\[\]/.test(text) ? "{a,b}" : "a"
          const plan = (await client.query<{ "QUERY PLAN": string }>(`explain execute p${i}('${value}')`)).rows.map((r) => r["QUERY PLAN"]).join("\n")
          assert.notInclude(plan, "Seq Scan", `${text}\n${plan}`)
          assert.match(plan, /Index (Only )?Scan/, `${text}\n${plan}`)
        }
        // A batch's plan does not depend on how many keys it carries: Postgres keeps one
        // generic plan of the prepared statement instead of planning every batch anew. With a
        // few thousand users and tokens (copies of a real row), where the plan has a choice.
        await client.query("reset enable_seqscan")
        await client.query(`insert into "user" select (jsonb_populate_record(null::"user", to_jsonb(u) ||
          jsonb_build_object('id', 'filler' || g, 'email', 'filler' || g || '@example.com'))).*
          from "user" u, generate_series(1, 3000) g where u."id" = (select min("id") from "user")`)
        await client.query(`insert into "apiToken" select (jsonb_populate_record(null::"apiToken", to_jsonb(t) ||
          jsonb_build_object('id', 'filler' || g, 'digest', md5(g::text), 'userId', 'filler' || g))).*
          from "apiToken" t, generate_series(1, 3000) g where t."id" = (select min("id") from "apiToken")`)
        await client.query(`analyze "user"`)
        await client.query(`analyze "apiToken"`)
        for (const [i, text] of texts.entries()) {
          if (!/\$1::text\[\]/.test(text)) continue
          await client.query(`prepare b${i} as ${text}`)
          for (const keys of [2, 3, 5, 8, 13, 21, 34, 55, 2, 40, 7, 64]) {
            await client.query(`execute b${i}('{${Array.from({ length: keys }, (_, k) => `k${k}`).join(",")}}')`)
          }
          const plan = (await client.query<{ "QUERY PLAN": string }>(`explain execute b${i}('{a,b,c}')`)).rows.map((r) => r["QUERY PLAN"]).join("\n")
          assert.notInclude(plan, "Seq Scan", `${text}\n${plan}`)
          const [counts] = (await client.query<{ generic: string; custom: string }>(
            "select generic_plans as generic, custom_plans as custom from pg_prepared_statements where name = $1", [`b${i}`])).rows
          assert.isAtMost(Number(counts!.custom), 5, `${text}: planned for each batch (${counts!.custom} custom plans)`)
          assert.isAtLeast(Number(counts!.generic), 7, text)
        }
      } finally {
        await client.end()
      }
    })
  })
}
