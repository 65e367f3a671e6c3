/**
 * fusion-auth's own connection settings: `pooler`, `connection_limit` and `idle_timeout` from the options or
 * the URL (the options win), taken off the URL so no driver sees them; a bad value is a
 * `ConfigError` that names the setting, and the URL's secret never appears in it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { connection } from "../src/sql/Connection.ts"

const read = (url: string, options = {}) => Effect.runSyncExit(connection(Redacted.make(url), options))
const ok = (url: string, options = {}) => {
  const exit = read(url, options)
  assert.isTrue(Exit.isSuccess(exit))
  const value = Exit.isSuccess(exit) ? exit.value : undefined
  return { url: Redacted.value(value!.url), prepare: value!.prepare, multiplex: value!.multiplex, maxConnections: value!.maxConnections, idleTimeoutMs: value!.idleTimeoutMs }
}

describe("connection settings", () => {
  it("defaults: named statements, pipelined, 16 connections, the URL as given", () => {
    assert.deepStrictEqual(ok("postgres://app:s3cret@db:5432/app?sslmode=require"), {
      url: "postgres://app:s3cret@db:5432/app?sslmode=require",
      prepare: true,
      multiplex: true,
      maxConnections: 16,
      idleTimeoutMs: undefined
    })
  })

  it("reads ?pooler=transaction&connection_limit=4 and takes them off the URL, keeping the rest: unnamed statements, one at a time per connection", () => {
    assert.deepStrictEqual(ok("postgres://app:s3cret@pooler:6432/app?pooler=transaction&sslmode=require&connection_limit=4&idle_timeout=30"), {
      url: "postgres://app:s3cret@pooler:6432/app?sslmode=require",
      prepare: false,
      multiplex: false,
      maxConnections: 4,
      idleTimeoutMs: 30_000
    })
    assert.include(ok("postgres://app@db/app?pooler=session"), { prepare: true, multiplex: true })
  })

  it("the options win over the URL", () => {
    assert.deepStrictEqual(ok("postgres://app@db/app?pooler=none&connection_limit=4&idle_timeout=30", { pooler: "transaction", maxConnections: 2, idleConnectionTimeout: 500 }), {
      url: "postgres://app@db/app",
      prepare: false,
      multiplex: false,
      maxConnections: 2,
      idleTimeoutMs: 500
    })
  })

  it("refuses a bad value with a ConfigError naming the setting, never the URL's secret", () => {
    for (const url of ["postgres://app:s3cret@db/app?pooler=statement", "postgres://app:s3cret@db/app?connection_limit=0", "postgres://app:s3cret@db/app?connection_limit=four", "postgres://app:s3cret@db/app?idle_timeout=0", "postgres://app:s3cret@db/app?idle_timeout=soon"]) {
      const exit = read(url)
      assert.isTrue(Exit.isFailure(exit), url)
      const message = String(Exit.isFailure(exit) ? Exit.findErrorOption(exit).pipe((o) => (o._tag === "Some" ? (o.value as Error).message : "")) : "")
      assert.match(message, /pooler must be one of|connection_limit must be|idle_timeout \(seconds\)/)
      assert.notInclude(message, "s3cret")
    }
  })
})
