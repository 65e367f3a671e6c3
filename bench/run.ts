/**
 * `npm run bench` — what one resolution costs, fusion-auth against Better Auth's API-key
 * plugin and the bare-SELECT floor, on real Postgres and on embedded PGlite.
 *
 *   node bench/run.ts                 the full run (about 25 minutes on 2 cores)
 *   node bench/run.ts --quick         a few minutes: fewer rounds, shorter samples
 *   node bench/run.ts --backend pglite --no-memory --no-http
 *   node bench/run.ts --scale --backend postgres --no-memory --no-http
 *
 * Postgres: `DATABASE_URL`'s server, else postgres://postgres@127.0.0.1:5432 (a fresh database
 * is created and dropped). Redis, for the rate limit counted there: `REDIS_URL`, else
 * redis://127.0.0.1:6379 (keys under a fresh prefix, deleted at the end). Prints one table;
 * the raw figures go to bench/results/*.json.
 */
import { parseArgs } from "node:util"
import { runBench } from "./bench.ts"
import { type BackendName, closeAll, postgresReachable, serverUrl } from "./database.ts"
import { type BenchOptions, presets, SCALE } from "./options.ts"

const help = `npm run bench -- [flags]

  --quick             fewer, shorter rounds (a few minutes); the default is the full run (~25 min)
  --backend NAME      postgres or pglite; repeat for both (default: both)
  --no-memory         skip the memory runs (a child process per contender)
  --no-http           skip the HTTP comparison (the example app's production build)
  --scale             after the small fixture, the same contenders on a big one, on Postgres:
                      ${SCALE.tokens.toLocaleString("en-US")} tokens, ${SCALE.sessions.toLocaleString("en-US")} sessions and API keys, ${SCALE.users.toLocaleString("en-US")} users
                      (${SCALE.presented.toLocaleString("en-US")} of each presented); its ratios are reported next to the small fixture's
  --scale-rows N      the scale pass with N tokens, sessions and API keys and N/10 users instead
  --help              this text

Every run counts statements per resolution one at a time and with 32 in flight, and reads
Postgres's backends' CPU per 1,000 resolutions (same machine only; "n/a" otherwise).
The token path with a rate limit counted in Redis needs REDIS_URL's server (default
redis://127.0.0.1:6379).`

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    backend: { type: "string", multiple: true },
    "no-memory": { type: "boolean", default: false },
    "no-http": { type: "boolean", default: false },
    scale: { type: "boolean", default: false },
    "scale-rows": { type: "string" },
    help: { type: "boolean", default: false }
  }
})
if (values.help) {
  console.log(help)
  process.exit(0)
}

let options: BenchOptions = presets[values.quick ? "quick" : "full"]
if (values.backend) options = { ...options, backends: values.backend as Array<BackendName> }
if (values["no-memory"]) options = { ...options, memoryOps: 0 }
if (values["no-http"]) options = { ...options, http: null }
if (values.scale || values["scale-rows"] !== undefined) {
  const rows = values["scale-rows"] === undefined ? undefined : Number(values["scale-rows"])
  if (rows !== undefined && !(Number.isInteger(rows) && rows >= 100)) {
    console.error("--scale-rows takes a whole number of rows, at least 100")
    process.exit(1)
  }
  const size = rows === undefined ? SCALE : { ...SCALE, tokens: rows, sessions: rows, apiKeys: rows, users: Math.ceil(rows / 10), presented: Math.min(SCALE.presented, Math.ceil(rows / 10)) }
  options = { ...options, scale: { ...size, backends: ["postgres"] } }
}
const needsPostgres = options.backends.includes("postgres") || options.scale !== null
if (needsPostgres && !(await postgresReachable())) {
  console.error(`Postgres does not answer at ${new URL(serverUrl()).host}: set DATABASE_URL, or pass --backend pglite (the scale pass runs on Postgres only).`)
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
console.log(`\nfusion-auth bench (${options.mode}${options.scale ? ", scale" : ""}): throughput is the median of ${options.rounds} interleaved rounds; spread is half the interquartile range; ratios are medians of per-round ratios.`)
console.log(table)
console.log(`\nraw figures: ${file}`)
