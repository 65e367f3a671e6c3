/** The part of autocannon's API the load test uses (the package ships no types). */
declare module "autocannon" {
  interface Histogram {
    readonly average: number
    readonly mean: number
    readonly stddev: number
    readonly min: number
    readonly max: number
    readonly total: number
    readonly p50: number
    readonly p90: number
    readonly p99: number
    readonly p99_9: number
  }
  interface Request {
    readonly method?: string
    readonly path?: string
    readonly headers?: Record<string, string>
    readonly onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void
  }
  interface Options {
    readonly url: string
    readonly connections?: number
    readonly duration?: number
    readonly amount?: number
    readonly timeout?: number
    readonly pipelining?: number
    readonly headers?: Record<string, string>
    readonly requests?: ReadonlyArray<Request>
  }
  interface Result {
    readonly requests: Histogram
    readonly latency: Histogram
    readonly throughput: Histogram
    readonly duration: number
    readonly errors: number
    readonly timeouts: number
    readonly mismatches: number
    readonly non2xx: number
    readonly resets: number
    readonly "2xx": number
    readonly statusCodeStats: Record<string, { readonly count: number }>
  }
  interface Instance {
    /** Each response: its status, size and time in milliseconds (fractional). */
    on(event: "response", listener: (client: unknown, statusCode: number, bytes: number, milliseconds: number) => void): Instance
  }
  function autocannon(options: Options): Promise<Result>
  function autocannon(options: Options, done: (error: Error | null, result: Result) => void): Instance
  namespace autocannon {
    export type { Result }
  }
  export default autocannon
}
