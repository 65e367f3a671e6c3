/**
 * Every plugin the native cookie path stays on with (`NativeCookie.ALLOWED_PLUGINS`), installed
 * together as apps configure them, Better Auth's own and those released apart from it
 * (passkey, SSO, the OAuth provider, Expo, Stripe, SCIM, API keys): the native path is on, and answers
 * what Better Auth's `getSession` answers in every state of the equivalence property
 * (`support/equivalence.ts`), at one statement. On the locked Better Auth only: those packages
 * import `better-auth` themselves, and their peer ranges start at later 1.7 patches.
 */
import { apiKey } from "@better-auth/api-key"
import { expo } from "@better-auth/expo"
import { oauthProvider } from "@better-auth/oauth-provider"
import { passkey } from "@better-auth/passkey"
import { scim } from "@better-auth/scim"
import { sso } from "@better-auth/sso"
import { stripe } from "@better-auth/stripe"
import { assert, it } from "@effect/vitest"
import type { BetterAuthPlugin } from "better-auth"
import Stripe from "stripe"
import { ALLOWED_PLUGINS } from "../src/core/NativeCookie.ts"
import { builtInPlugins, DEFAULT_NAMES, describeEquivalence } from "./support/equivalence.ts"

const plugins = (): ReadonlyArray<BetterAuthPlugin> => [
  ...builtInPlugins(),
  passkey(),
  sso({ domainVerification: { enabled: true }, saml: { enableSingleLogout: true } }),
  oauthProvider({ loginPage: "/login", consentPage: "/consent" }),
  expo(),
  // As it comes: its keys are not sessions (with enableSessionForAPIKeys the cookie is handed over, as api-key-plugin.test.ts shows).
  apiKey(),
  // Its client is made, never called: no customer is created at sign-up (createCustomerOnSignUp off).
  stripe({
    stripeClient: new Stripe("sk_test_equivalence"),
    stripeWebhookSecret: "whsec_equivalence",
    subscription: { enabled: true, plans: [{ name: "pro", priceId: "price_pro" }] }
  }),
  scim({ connections: [{ id: "okta", credentials: [{ type: "bearer", id: "okta-1", token: "scim-token-equivalence-0123456789abcdef" }] }] }) as BetterAuthPlugin
]

it("the configuration installs every plugin on the list", () => {
  assert.deepStrictEqual(
    new Set(["fusion-auth", ...plugins().map((plugin) => plugin.id)]),
    new Set(ALLOWED_PLUGINS.keys())
  )
})

describeEquivalence([{
  name: "every plugin the native path stays on with",
  ...DEFAULT_NAMES,
  numRuns: 40,
  role: "user",
  plugins
}])
