/**
 * A CPU profile of one contender: where the time of a resolution goes.
 *
 *   node bench/profile.ts fusion.token [--backend postgres|pglite] [--concurrency 32] [--seconds 5]
 *
 * Writes `bench/results/profile-<contender>-<backend>-c<n>.cpuprofile` (open it in Chrome
 * DevTools or speedscope) and prints self time by area and the hottest functions.
 */
import { mkdir, writeFile } from "node:fs/promises"
import { Session } from "node:inspector/promises"
import { parseArgs } from "node:util"
import { Clients } from "./clients.ts"
import { contender } from "./contenders.ts"
import { type BackendName, makeDatabase } from "./database.ts"
import { makeFixture } from "./fixture.ts"
import { measure } from "./measure.ts"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Which code a frame belongs to: a package, Node itself, fusion-auth, or V8's own work. */
export const areaOf = (url: string, functionName: string): string => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)"
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1]!
  if (url.startsWith("node:")) return "node internals"
  if (/\/src\//.test(url)) return "fusion-auth src"
  if (/\/bench\//.test(url)) return "bench harness"
  return url
}

/** Self time (microseconds) by area and by function, heaviest first. */
export const summarize = (profile: CpuProfile) => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  let total = 0
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!
    const dt = profile.timeDeltas[i] ?? 0
    const { functionName, url, lineNumber } = node.callFrame
    const area = areaOf(url, functionName)
    const fn = `${functionName || "(anonymous)"} ${url ? `${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(src|bench)\//, "$1/")}:${lineNumber + 1}` : ""}`
    areas.set(area, (areas.get(area) ?? 0) + dt)
    functions.set(fn, (functions.get(fn) ?? 0) + dt)
    total += dt
  })
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])
  return { total, areas: sorted(areas), functions: sorted(functions) }
}

const main = async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      backend: { type: "string", default: "postgres" },
      concurrency: { type: "string", default: "32" },
      seconds: { type: "string", default: "5" }
    }
  })
  const id = positionals[0] ?? "fusion.token"
  const backend = values.backend as BackendName
  const concurrency = Number(values.concurrency)
  const db = await makeDatabase(backend)
  const clients = new Clients(db.url, db.database)
  try {
    const fixture = await makeFixture(db.url, { sessions: 8, tokens: 500 })
    const op = await contender(id).make(clients, fixture)
    await measure(op, { concurrency, milliseconds: 2000, maxOps: 1_000_000 }) // warm-up
    const session = new Session()
    session.connect()
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 100 })
    await session.post("Profiler.start")
    const sample = await measure(op, { concurrency, milliseconds: Number(values.seconds) * 1000, maxOps: 10_000_000 })
    const { profile } = await session.post("Profiler.stop")
    session.disconnect()
    const file = new URL(`results/profile-${id}-${backend}-c${concurrency}.cpuprofile`, import.meta.url)
    await mkdir(new URL("results/", import.meta.url), { recursive: true })
    await writeFile(file, JSON.stringify(profile))
    const { total, areas, functions } = summarize(profile as unknown as CpuProfile)
    const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`
    console.log(`${id} on ${backend}, concurrency ${concurrency}: ${Math.round(sample.opsPerSecond)} resolutions/s while profiled`)
    console.log(`CPU of this process per resolution: ${(total / sample.ops).toFixed(1)} µs sampled (idle included)\n`)
    console.log("self time by area")
    for (const [area, us] of areas.slice(0, 14)) console.log(`  ${pct(us)}  ${(us / sample.ops).toFixed(2).padStart(7)} µs/op  ${area}`)
    console.log("\nhottest functions (self time)")
    for (const [fn, us] of functions.slice(0, 25)) console.log(`  ${pct(us)}  ${fn}`)
    console.log(`\nprofile: ${file.pathname}`)
  } finally {
    await clients.close()
    await db.close()
  }
}

if (import.meta.main) await main()
