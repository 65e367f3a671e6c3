/** Better Auth's own HTTP API (sign-in, sign-out, session, …) for clients that call it directly. */
import { createFileRoute } from "@tanstack/react-router"
import { auth } from "#/lib/auth"

export const Route = createFileRoute("/api/auth/$")({
  server: { handlers: { ANY: ({ request }) => auth.handler(request) } }
})
