/**
 * A plain Node script written from the docs: migrate, resolve a cookie and a token, run an
 * Effect program with `withSession`, then `dispose()` (not with `FORGET_DISPOSE=1`; with
 * `SCRIPT_RUNTIME=layer` the token is resolved on a runtime of its own over `authLayer`, never
 * disposed, instead of `resolve` and `withSession`). Its last
 * line is `done <ms>`; the test checks the process exits after it (nothing left open: runtime,
 * Better Auth's pool, the embedded server). On `DATABASE_URL` when set, else the embedded
 * default folder.
 */
import { betterAuth } from "better-auth"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { ManagedRuntime, Redacted } from "effect"
import { betterAuthDatabase, createAuthSession, fusionAuth } from "../../src/index.ts"
import { authLayer, CurrentSession, SessionResolver } from "../../src/effect.ts"
import { LOCK_FILE } from "../../src/sql/EmbeddedLock.ts"
import { testPassword } from "./password.ts"

// Before fusion-auth's own exit handler (which removes a lock left behind): was the folder let go before the process ended?
const lock = join(process.env.FUSION_AUTH_DATA_DIR || ".data/fusion-auth", LOCK_FILE)
process.on("exit", () => console.log(`lock at exit: ${existsSync(lock)}`))

const auth = betterAuth({
  database: betterAuthDatabase(),
  secret: "script-secret-script-secret-script-0123",
  baseURL: "http://localhost:3000",
  telemetry: { enabled: false },
  logger: { disabled: true },
  emailAndPassword: { enabled: true, password: testPassword },
  plugins: [fusionAuth()]
})
const { migrate, getSession, resolve, withSession, tokens, dispose } = createAuthSession(auth)

await migrate()
const { headers, response } = await auth.api.signUpEmail({
  body: { email: `script-${Date.now()}@example.com`, password: "correct horse battery", name: "Script" },
  returnHeaders: true
})
const cookie = new Headers({ cookie: headers.getSetCookie().map((c) => c.split(";")[0]).join("; ") })
const { token } = await tokens.create({ userId: response.user.id, name: "script" })
const bearer = new Headers({ authorization: `Bearer ${Redacted.value(token)}` })

const viaCookie = await getSession(cookie)
const [byToken, email] = process.env.SCRIPT_RUNTIME === "layer"
  ? await ManagedRuntime.make(authLayer(auth)).runPromise(SessionResolver.use((resolver) => resolver.resolve(bearer))).then((s) => [s.session === null, s.user.email] as const)
  : [await resolve(bearer).then((r) => "session" in r && r.session.session === null), await withSession(CurrentSession.useSync((s) => s.user.email), bearer)] as const
if (process.env.FORGET_DISPOSE !== "1") await dispose()
console.log(JSON.stringify({ cookie: viaCookie?.session !== null, token: byToken, email, userId: response.user.id }))
console.log(`done ${Date.now()}`)
