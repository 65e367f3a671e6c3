/**
 * `npm pack` of this repository, made in a private copy of it (its package files, with
 * node_modules linked), so that tests packing at the same time never share a `dist/` that
 * another's `prepack` build is deleting. The copy is a repository as a user clones it: its
 * `npm run build` is the real one.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const root = join(import.meta.dirname, "..", "..")

export interface Packed {
  /** The private copy of the repository, with its fresh `dist/`. */
  readonly repo: string
  /** The tarball's absolute path. */
  readonly tarball: string
  /** Paths inside the tarball, e.g. `dist/index.js`. */
  readonly files: ReadonlyArray<string>
}

/** Packs the repository into `destination`. */
export const pack = (destination: string, env: NodeJS.ProcessEnv = process.env): Packed => {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { files: ReadonlyArray<string> }
  const repo = mkdtempSync(join(tmpdir(), "fusion-auth-repo-"))
  for (const entry of [...manifest.files, "package.json", "tsconfig.json", "tsconfig.build.json", "LICENSE"]) {
    try {
      cpSync(join(root, entry), join(repo, entry), { recursive: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error
    }
  }
  symlinkSync(join(root, "node_modules"), join(repo, "node_modules"), "dir")
  mkdirSync(destination, { recursive: true })
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], {
    cwd: repo,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"]
  })
  const [packed] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>
  return { repo, tarball: join(destination, packed!.filename), files: packed!.files.map((f) => f.path) }
}
