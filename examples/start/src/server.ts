/**
 * The server entry (dev and production): TanStack Start's own handler, after the start-up
 * work (migrations) has finished.
 */
import handler, { createServerEntry } from "@tanstack/react-start/server-entry"
import { ready } from "#/lib/startup"

export default createServerEntry({
  async fetch(request) {
    await ready()
    return handler.fetch(request)
  }
})

/** For the production server (serve.ts): migrate before listening, close the database on exit. */
export { ready, shutdown } from "#/lib/startup"
