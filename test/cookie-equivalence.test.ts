/**
 * The native cookie path answers exactly what Better Auth's `getSession` answers (cookie
 * cache disabled), over generated states on real Better Auth and real Postgres: valid, the
 * expiry boundary and 1 ms either side, expired, deleted, user deleted, deactivated, refresh
 * due, tampered, wrong secret, another cookie prefix, duplicate cookies, don't-remember
 * (`support/equivalence.ts`). Every state and boundary is a fixed example; the property runs
 * over four configurations: Better Auth's defaults, the schema matrix's (mapped model and field
 * names, uuid ids), an https `baseURL` (`__Secure-` cookie names), and Better Auth's own
 * plugins that the native path stays on with. Run on the locked Better Auth and on 1.7.0; the
 * plugins released apart from Better Auth are in `native-plugins.test.ts`, on the locked one.
 */
import { builtInPlugins, type Config, DEFAULT_NAMES, describeEquivalence } from "./support/equivalence.ts"

const CONFIGS: ReadonlyArray<Config> = [
  {
    name: "Better Auth's defaults",
    ...DEFAULT_NAMES,
    numRuns: 80
  },
  {
    name: "mapped model and field names, uuid ids",
    baseURL: "http://localhost:3000",
    user: { modelName: "members", fields: { email: "email_address", createdAt: "created_at" } },
    session: { modelName: "logins", fields: { token: "login_token", expiresAt: "expires_at", userId: "member_id" } },
    advanced: { database: { generateId: "uuid" } },
    cookie: "better-auth.session_token",
    dontRemember: "better-auth.dont_remember",
    numRuns: 60
  },
  {
    name: "an https baseURL (__Secure- cookies)",
    baseURL: "https://app.example.com",
    user: {},
    session: {},
    cookie: "__Secure-better-auth.session_token",
    dontRemember: "__Secure-better-auth.dont_remember",
    numRuns: 60
  },
  {
    name: "Better Auth's own plugins that the native path stays on with",
    ...DEFAULT_NAMES,
    numRuns: 40,
    role: "user",
    plugins: builtInPlugins
  }
]

describeEquivalence(CONFIGS)
