/**
 * Better Auth's Stripe plugin (`@better-auth/stripe`) beside fusion-auth, on real Better Auth
 * over PGlite and Postgres. Stripe itself is the test's: a client whose every call is recorded
 * and answered with an empty list or a made-up object, so nothing leaves the machine. A
 * locked-out user's session can neither list, start, cancel or restore a subscription nor
 * open the billing portal (401 with the lock-out's code), and Stripe is not called for them;
 * once the lock-out ends, the same session reaches Stripe again. The native cookie path stays
 * on beside the plugin.
 */
import { stripe } from "@better-auth/stripe"
import { assert, it } from "@effect/vitest"
import { type BetterAuthPlugin, betterAuth } from "better-auth"
import { admin } from "better-auth/plugins"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type Stripe from "stripe"
import { decide } from "../src/core/NativeCookie.ts"
import { betterAuthDatabase, createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { browserOf, lockOutWays, quietOptions, signUpAs } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

/** A Stripe client that records each call (`customers.create`, …) and answers it with an empty list or an object of its own. */
const recordingStripe = () => {
  const calls: Array<string> = []
  const answer = (path: string) => ({
    id: `${path.replace(/\W/g, "_")}_${calls.length}`,
    object: "list",
    data: [],
    has_more: false,
    url: `https://stripe.example/${path}`,
    deleted: false
  })
  const at = (path: string): unknown =>
    new Proxy(function() {}, {
      get: (_target, key) => (key === "then" ? undefined : at(path === "" ? String(key) : `${path}.${String(key)}`)),
      apply: async () => (calls.push(path), answer(path))
    })
  return { client: at("") as Stripe, calls }
}

let people = 0

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  const stripeApi = recordingStripe()
  const auth = betterAuth({
    ...quietOptions(betterAuthDatabase({ url })),
    plugins: [
      admin(),
      stripe({
        stripeClient: stripeApi.client,
        stripeWebhookSecret: "whsec_test",
        subscription: { enabled: true, plans: [{ name: "pro", priceId: "price_pro" }] }
      }) as BetterAuthPlugin,
      fusionAuth()
    ] as unknown as [ReturnType<typeof fusionAuth>]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { auth, app, pool, call, stripe: stripeApi, close }
}

/** The plugin's endpoints that act for the session, each with what a browser sends. */
const DOORS: ReadonlyArray<readonly [string, unknown?]> = [
  ["/subscription/list"],
  ["/subscription/upgrade", { plan: "pro", successUrl: "/done", cancelUrl: "/cancel" }],
  ["/subscription/cancel", { returnUrl: "/account" }],
  ["/subscription/restore", {}],
  ["/subscription/billing-portal", { returnUrl: "/account" }]
]

it("the overrides entry points @better-auth/stripe at the better-call better-auth itself depends on, and stripe is within the plugin's peer range", () => {
  const manifest = (name: string) =>
    JSON.parse(readFileSync(join(import.meta.dirname, "..", "node_modules", name, "package.json"), "utf8")) as {
      version: string
      dependencies?: Record<string, string>
      peerDependencies?: Record<string, string>
    }
  const ours = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as { overrides: Record<string, Record<string, string>> }
  assert.deepStrictEqual(ours.overrides["@better-auth/stripe"], { "better-call": "$better-call" })
  assert.strictEqual(manifest("better-call").version, manifest("better-auth").dependencies?.["better-call"])
  const range = manifest("@better-auth/stripe").peerDependencies?.stripe ?? ""
  const major = manifest("stripe").version.split(".")[0]
  assert.include(range.split("||").map((r) => r.trim()), `^${major}`, `stripe ${manifest("stripe").version} within ${range}`)
})

describeOnBackends("Better Auth's Stripe plugin for a locked-out user", makeWorld, (held) => {
  it("the native cookie path stays on beside it", async () => {
    const context = (await held.world.auth.$context) as { version?: string }
    assert.strictEqual(decide(context, context.version)._tag, "Native")
  })

  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: every subscription endpoint refuses their session and Stripe is not called; once it ends, the same session reaches Stripe`, async () => {
      const w = held.world
      const ada = await signUpAs(w.call, `stripe${++people}@example.com`)
      assert.strictEqual((await w.call("/subscription/list", ada.jar)).status, 200)

      await lock(w, ada.userId)
      const before = w.stripe.calls.length
      for (const [path, body] of DOORS) {
        const refused = await w.call(path, ada.jar, body)
        assert.strictEqual(refused.status, 401, `${path}: ${JSON.stringify(refused.body)}`)
        assert.strictEqual((refused.body as { code?: string }).code, code, path)
      }
      assert.deepStrictEqual(w.stripe.calls.slice(before), [], "nothing was asked of Stripe for them")
      assert.isNull(await w.app.getSession(new Headers({ cookie: ada.jar })))

      await unlock(w, ada.userId)
      assert.strictEqual((await w.call("/subscription/list", ada.jar)).status, 200)
      const upgrade = await w.call("/subscription/upgrade", ada.jar, DOORS[1]![1])
      assert.strictEqual(upgrade.status, 200, JSON.stringify(upgrade.body))
      assert.include(w.stripe.calls.slice(before), "checkout.sessions.create", "their upgrade reached Stripe's checkout")
      assert.strictEqual((await w.app.getSession(new Headers({ cookie: ada.jar })))?.user.id, ada.userId)
    })
  }
})
