/**
 * `npm start` on a fresh clone: the Vite dev server comes up on the embedded database with
 * no database server, migrates, prints the URL to open, and serves the app and its APIs;
 * after a restart on the same data folder, the same browser session is still signed in.
 */
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { startDev } from "./support/app.ts"

describe("npm start (the Vite dev server)", () => {
  it("serves the pages and both APIs on a fresh data folder, and keeps its data across a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fusion-auth-example-dev-"))
    try {
      const first = await startDev({ dataDir })
      let cookie: string
      try {
        assert.match(first.output(), /database ready \(embedded PGlite in /)
        const login = await fetch(`${first.url}/login`)
        assert.strictEqual(login.status, 200)
        assert.include(await login.text(), "Sign in")

        const me = await fetch(`${first.url}/api/me`)
        assert.deepStrictEqual([me.status, await me.json()], [401, { error: "unauthorized", reason: "Anonymous" }])
        const v1 = await fetch(`${first.url}/api/v1/me`, { headers: { authorization: "Bearer sk_live_not-a-token" } })
        assert.strictEqual(v1.headers.get("www-authenticate"), `Bearer error="invalid_token"`)
        assert.deepStrictEqual([v1.status, await v1.json()], [401, { error: "invalid_token", reason: "InvalidToken" }])

        // Better Auth's own HTTP API is mounted too: sign up the way a browser's script would.
        const signUp = await fetch(`${first.url}/api/auth/sign-up/email`, {
          method: "POST",
          headers: { "content-type": "application/json", origin: first.url },
          body: JSON.stringify({ name: "Ada", email: "ada@example.com", password: "correct horse battery staple" })
        })
        assert.strictEqual(signUp.status, 200)
        cookie = signUp.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ")
      } finally {
        await first.stop()
      }

      const second = await startDev({ dataDir })
      try {
        const me = await fetch(`${second.url}/api/me`, { headers: { cookie } })
        const { id: _, ...caller } = (await me.json()) as Record<string, unknown>
        assert.deepStrictEqual([me.status, caller], [200, {
          email: "ada@example.com",
          name: "Ada",
          role: "admin",
          via: "cookie",
          scopes: ["read", "write", "admin:users", "tokens:manage"]
        }])
      } finally {
        await second.stop()
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 180_000)
})
