/**
 * `npm run bench` — what one resolution costs, fusion-auth against Better Auth's API-key
 * plugin and the bare-SELECT floor, on real Postgres and on embedded PGlite.
 *
 *   node bench/run.ts                 the full run (about 15 minutes on 2 cores)
 *   node bench/run.ts --quick         under a minute: fewer rounds, shorter samples
 *   node bench/run.ts --backend pglite --no-memory --no-http
 *
 * Postgres: `DATABASE_URL`'s server, else postgres://postgres@127.0.0.1:5432 (a fresh database
 * is created and dropped). Prints one table; the raw figures go to bench/results/*.json.
 */
import { parseArgs } from "node:util"
import { runBench } from "./bench.ts"
import { type BackendName, closeAll, postgresReachable, serverUrl } from "./database.ts"
import { type BenchOptions, presets } from "./options.ts"

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    backend: { type: "string", multiple: true },
    "no-memory": { type: "boolean", default: false },
    "no-http": { type: "boolean", default: false }
  }
})

let options: BenchOptions = presets[values.quick ? "quick" : "full"]
if (values.backend) options = { ...options, backends: values.backend as Array<BackendName> }
if (values["no-memory"]) options = { ...options, memoryOps: 0 }
if (values["no-http"]) options = { ...options, http: null }
if (options.backends.includes("postgres") && !(await postgresReachable())) {
  console.error(`Postgres does not answer at ${new URL(serverUrl()).host}: set DATABASE_URL, or pass --backend pglite.`)
  process.exit(1)
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: dropping the bench databases`)
    void closeAll().finally(() => process.exit(130))
  })
}

const t0 = performance.now()
const { table, file } = await runBench(options, (line) => console.error(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${line}`))
console.log(`\nfusion-auth bench (${options.mode}): throughput is the median of ${options.rounds} interleaved rounds; spread is half the interquartile range; ratios are medians of per-round ratios.`)
console.log(table)
console.log(`\nraw figures: ${file}`)
