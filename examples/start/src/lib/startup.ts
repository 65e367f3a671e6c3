/**
 * Start-up and shutdown, shared by the dev server and the production server: migrations run
 * once, before the first request is served; shutdown (`dispose()`) closes the runtime, Better
 * Auth's pool and the embedded database, so its files are left consistent and its lock freed.
 */
import { Database } from "fusion-auth/effect"
import { dispose, migrate } from "./auth.ts"
import { embedded } from "./config.ts"

let started: Promise<void> | undefined

/** Runs the migrations (Better Auth's, then fusion-auth's) once per process. */
export const ready = (): Promise<void> => {
  started ??= migrate().then(() => {
    console.log(
      embedded
        ? `fusion-auth example: database ready (embedded PGlite in ${Database.dataDirOf()})`
        : "fusion-auth example: database ready (DATABASE_URL)"
    )
  })
  return started
}

let stopped: Promise<void> | undefined

/** Closes the runtime, Better Auth's pool and the embedded database (once). */
export const shutdown = (): Promise<void> => {
  stopped ??= dispose()
  return stopped
}

// Dev server: a change to server code re-runs every module, which would open the embedded
// database's folder a second time while the first instance still holds it. Close it first.
import.meta.hot?.on("vite:beforeFullReload", () => shutdown())
