/** `GET /api/me` (src/server/me.ts): fusion-auth's request middleware resolves the caller first. */
import { createFileRoute } from "@tanstack/react-router"
import { requireSessionRequestMiddleware } from "#/lib/middleware"
import { me } from "#/server/me"

export const Route = createFileRoute("/api/me")({
  server: {
    middleware: [requireSessionRequestMiddleware],
    handlers: { GET: ({ context }) => me(context.session) }
  }
})
