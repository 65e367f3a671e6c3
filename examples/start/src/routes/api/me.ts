import { createFileRoute } from "@tanstack/react-router"
import { me } from "#/server/me"

export const Route = createFileRoute("/api/me")({
  server: { handlers: { GET: ({ request }) => me(request) } }
})
