/** Runs the `fusion-auth` bin (this repository's source) in a subprocess, as an operator would. */
import { execFile } from "node:child_process"
import { join } from "node:path"

const bin = join(import.meta.dirname, "../../src/cli/main.ts")

export interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** `fusion-auth …args`, with `DATABASE_URL` cleared unless `env` sets it. */
export const fusionAuth = (args: ReadonlyArray<string>, options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {}) =>
  new Promise<Run>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd, env: { ...process.env, DATABASE_URL: "", ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
    child.stdin?.end(options.stdin ?? "")
  })
