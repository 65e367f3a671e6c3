/**
 * Resident memory after many resolutions, one contender per child process (so no figure
 * carries another's allocations). The child warms up, then runs the resolutions at
 * concurrency 32 in ten slices, and after each slice forces a GC and samples RSS and heap.
 * Credentials are distinct where they can be: every unknown token or key is new, and the
 * valid ones rotate over the whole fixture.
 */
import { fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Clients } from "./clients.ts"
import { contender } from "./contenders.ts"
import type { Fixture } from "./fixture.ts"
import { measure } from "./measure.ts"

export interface Memory {
  readonly resolutions: number
  /** Megabytes, after the warm-up and after each tenth of the run (GC forced first). */
  readonly rssMB: ReadonlyArray<number>
  readonly heapMB: ReadonlyArray<number>
  /** Memory outside the JS heap (Buffers and native objects), sampled with the others. */
  readonly externalMB: ReadonlyArray<number>
  /** RSS at the end. */
  readonly finalRssMB: number
  /** Heap in use at the end minus after the first tenth: growth with resolutions (and distinct credentials). */
  readonly heapGrowthMB: number
}

interface Job {
  readonly url: string
  readonly fixture: Fixture
  readonly id: string
  readonly resolutions: number
}

const MB = 1024 * 1024
const TIME_LIMIT_MS = 20 * 60 * 1000

/** Runs the child and returns its figures; the child is killed if it outlives the time limit. */
export const measureMemory = (url: string, fixture: Fixture, id: string, resolutions: number): Promise<Memory> =>
  new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ["--expose-gc"],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const timer = setTimeout(() => child.kill(), TIME_LIMIT_MS)
    child.on("message", (memory: Memory) => resolve(memory))
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`memory run of ${id} ended with code ${code} before reporting`))
    })
    child.send({ url, fixture, id, resolutions } satisfies Job)
  })

const child = async (job: Job): Promise<Memory> => {
  const gc = (globalThis as { gc?: () => void }).gc!
  const clients = new Clients(job.url)
  try {
    const op = await contender(job.id).make(clients, job.fixture, { distinct: true })
    const slice = Math.ceil(job.resolutions / 10)
    const budget = { concurrency: 32, milliseconds: Number.POSITIVE_INFINITY, maxOps: slice }
    await measure(op, { ...budget, maxOps: Math.min(2000, slice) })
    const rss: Array<number> = []
    const heap: Array<number> = []
    const external: Array<number> = []
    const sample = () => {
      gc()
      const usage = process.memoryUsage()
      rss.push(usage.rss / MB)
      heap.push(usage.heapUsed / MB)
      external.push(usage.external / MB)
    }
    sample()
    for (let done = 0; done < job.resolutions; done += slice) {
      await measure(op, { ...budget, maxOps: Math.min(slice, job.resolutions - done) }, done)
      sample()
    }
    return {
      resolutions: job.resolutions,
      rssMB: rss,
      heapMB: heap,
      externalMB: external,
      finalRssMB: rss.at(-1)!,
      heapGrowthMB: heap.at(-1)! - heap[1]!
    }
  } finally {
    await clients.close()
  }
}

if (import.meta.main && process.send) {
  process.once("message", async (job: Job) => {
    try {
      process.send!(await child(job))
      process.exitCode = 0
    } catch (error) {
      console.error(`memory run of ${job.id} failed: ${(error as Error).name}: ${(error as Error).message}`)
      process.exitCode = 1
    } finally {
      process.disconnect?.()
      setTimeout(() => process.exit(), 2000).unref()
    }
  })
}
