/**
 * docs/observability.md's export, run: `createAuthSession`'s `telemetry` option with
 * `@effect/opentelemetry`'s `NodeSdk.layer` over the OpenTelemetry SDK's 2.x line, on the
 * `@opentelemetry/api` the lockfile holds (1.10, which the SDK's peer ranges leave out and the
 * repository's `overrides` lets in). The exporters are the SDK's in-memory ones: what an OTLP
 * exporter would send to a collector, read back. `dispose()` flushes both on the way out.
 */
import { assert, describe, it } from "@effect/vitest"
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { afterAll, beforeAll } from "vitest"
import * as Metrics from "../src/core/Metrics.ts"
import { createAuthSession } from "../src/index.ts"
import { makeAuth, migrate, signUp } from "./support/auth.ts"
import { pglite, type TestDatabase } from "./support/databases.ts"

describe("exporting with OpenTelemetry (docs/observability.md)", () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await pglite.make()
  })
  afterAll(() => db?.close())

  it("exports the resolutions counter, the latency histogram and the resolve span through NodeSdk.layer, and the span carries no secret", async () => {
    const { auth, pool } = makeAuth(db.url)
    await migrate(auth, { url: db.url })
    const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const spans = new InMemorySpanExporter()
    const app = createAuthSession(auth, {
      database: { url: db.url },
      spans: true,
      telemetry: NodeSdk.layer(() => ({
        resource: { serviceName: "fusion-auth-test" },
        metricReader: new PeriodicExportingMetricReader({ exporter: metrics, exportIntervalMillis: 60_000 }),
        spanProcessor: new SimpleSpanProcessor(spans)
      }))
    })
    const { userId, cookie } = await signUp(auth, "otel@example.com")
    let resolved: ReadonlyArray<{ readonly name: string; readonly attributes: object }> = []
    try {
      assert.strictEqual((await app.getSession(new Headers({ cookie })))?.user.id, userId)
      assert.isNull(await app.getSession(new Headers({ authorization: "Bearer not-a-token" })))
      // Exported as each ends (the in-memory exporter forgets them at shutdown).
      resolved = spans.getFinishedSpans().filter((span) => span.name === Metrics.SPAN)
    } finally {
      await app.dispose() // shuts the SDK down: its last export
      await pool.end()
    }
    const exported = metrics.getMetrics().flatMap((batch) => batch.scopeMetrics.flatMap((scope) => scope.metrics))
    const named = (name: string): ReadonlyArray<{ readonly attributes: object; readonly value: unknown }> =>
      exported.filter((metric) => metric.descriptor.name === name).flatMap((metric) => metric.dataPoints as ReadonlyArray<{ attributes: object; value: unknown }>)
    const counted = named(Metrics.RESOLUTIONS).filter((point) => point.value !== 0).map((point) => [point.attributes, point.value])
    assert.deepStrictEqual(counted, [
      [{ credential: "cookie", outcome: "success" }, 1],
      [{ credential: "session-bearer", outcome: "InvalidToken", reason: "malformed" }, 1] // not an API token's form
    ])
    // Timed: the cookie's (a malformed credential is answered with no I/O, and only counted).
    const timed = named(Metrics.RESOLUTION_DURATION).map((point) => [point.attributes, (point.value as { count: number }).count]).filter(([, count]) => count !== 0)
    assert.deepStrictEqual(timed, [[{ credential: "cookie" }, 1]])
    assert.strictEqual(resolved.length, 2)
    const text = JSON.stringify(resolved.map((span) => span.attributes))
    assert.notInclude(text, cookie.split("=")[1]!.split(".")[0]!, "no session token in a span")
    assert.notInclude(text, "not-a-token")
  })
})
