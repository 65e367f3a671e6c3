/**
 * GitHub's secret-scanning partner alerts (docs/api-tokens.md, "Leak response"): a report of
 * this app's tokens found in public code revokes them at once, signed by GitHub or refused.
 */
import { createFileRoute } from "@tanstack/react-router"
import { githubSecretScanning } from "fusion-auth"
import { tokens } from "#/lib/auth"
import { githubKeys } from "#/lib/config"

// GitHub's keys: fetched from its published list and cached, unless GITHUB_SECRET_SCANNING_KEYS gives them.
const handle = githubSecretScanning({ tokens, keys: githubKeys, githubToken: process.env.GITHUB_TOKEN || undefined })

export const Route = createFileRoute("/api/github/secret-scanning")({
  server: { handlers: { POST: ({ request }) => handle(request) } }
})
