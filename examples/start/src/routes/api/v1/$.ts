/** Mounts the Effect HttpApi (src/server/api.ts) on the app's own fusion-auth runtime. */
import { createFileRoute } from "@tanstack/react-router"
import { Layer } from "effect"
import { runtime } from "#/lib/auth"
import { makeApiHandler } from "#/server/api"

let api: ReturnType<typeof makeApiHandler> | undefined
/** Built on first use, over the very services (and resolver) `getSession` uses. */
const handle = (request: Request) => {
  api ??= makeApiHandler(Layer.effectContext(runtime.contextEffect).pipe(Layer.orDie))
  return api.handler(request)
}

export const Route = createFileRoute("/api/v1/$")({
  server: { handlers: { ANY: ({ request }) => handle(request) } }
})
