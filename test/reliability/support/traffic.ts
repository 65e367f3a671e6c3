/**
 * Closed-loop HTTP traffic with a record of every request: when it started (wall clock, sub-ms),
 * when it ended, the status and, for a 200 from `/api/me`, whose session it was. Each worker
 * sends its next request when the last one has settled; `stop()` ends the loops, and a
 * deadline and a request cap bound them anyway.
 */
import { Agent, request } from "node:http"
import { now } from "./processes.ts"

export interface Target {
  /** A label for reports, e.g. `a/token`. */
  readonly name: string
  readonly url: string
  readonly headers: Record<string, string>
}

export interface Sample {
  readonly target: string
  readonly start: number
  readonly end: number
  /** HTTP status, or 0 when the request failed below HTTP (reset, refused, timeout). */
  readonly status: number
  /** For a 200 JSON answer: the user id it named. */
  readonly userId?: string | undefined
  readonly location?: string | undefined
  /** For a 5xx JSON answer: the error class the app named (e.g. `BetterAuthFailure`). */
  readonly failure?: string | undefined
  readonly error?: string | undefined
}

export interface TrafficOptions {
  readonly targets: ReadonlyArray<Target>
  /** Concurrent loops per target. */
  readonly concurrency: number
  /** Hard bounds: the loops stop by themselves after this long or this many requests. */
  readonly maxMillis: number
  readonly maxRequests: number
  readonly timeoutMillis?: number
}

export interface Traffic {
  readonly samples: Array<Sample>
  /** Ends the loops and waits for requests in flight. */
  stop(): Promise<ReadonlyArray<Sample>>
}

const once = (agent: Agent, target: Target, timeoutMillis: number) =>
  new Promise<Sample>((resolve) => {
    const start = now()
    const req = request(target.url, { agent, headers: target.headers, timeout: timeoutMillis }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const end = now()
        const status = res.statusCode ?? 0
        let userId: string | undefined
        if (status === 200 && /json/.test(String(res.headers["content-type"]))) {
          try {
            userId = (JSON.parse(Buffer.concat(chunks).toString()) as { id?: string }).id
          } catch {
            userId = undefined
          }
        } else if (status === 200) {
          userId = /Dashboard of (\S+)</.exec(Buffer.concat(chunks).toString())?.[1]
        }
        const failure = status >= 500 ? /"name":"([^"]+)"/.exec(Buffer.concat(chunks).toString())?.[1] : undefined
        resolve({ target: target.name, start, end, status, userId, location: res.headers.location, failure })
      })
      res.on("error", (error) => resolve({ target: target.name, start, end: now(), status: 0, error: error.message }))
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", (error) => resolve({ target: target.name, start, end: now(), status: 0, error: error.message }))
    req.end()
  })

export const startTraffic = (options: TrafficOptions): Traffic => {
  const agent = new Agent({ keepAlive: true, maxSockets: options.targets.length * options.concurrency * 2 })
  const samples: Array<Sample> = []
  const deadline = now() + options.maxMillis
  let stopped = false
  const loop = async (target: Target) => {
    while (!stopped && now() < deadline && samples.length < options.maxRequests) {
      samples.push(await once(agent, target, options.timeoutMillis ?? 30_000))
    }
  }
  const loops = options.targets.flatMap((target) => Array.from({ length: options.concurrency }, () => loop(target)))
  const all = Promise.all(loops)
  return {
    samples,
    stop: async () => {
      stopped = true
      await all
      agent.destroy()
      return samples
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits until `predicate` holds, checking every `every` ms, for at most `within` ms. */
export const waitFor = async (predicate: () => boolean | Promise<boolean>, within: number, every = 50): Promise<boolean> => {
  const until = now() + within
  while (now() < until) {
    if (await predicate()) return true
    await sleep(every)
  }
  return predicate()
}
