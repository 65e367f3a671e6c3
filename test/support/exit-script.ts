/**
 * A plain Node script written from the docs: migrate, resolve a cookie and a token, run an
 * Effect program with `withSession`, then `dispose()` (not with `FORGET_DISPOSE=1`). Its last
 * line is `done <ms>`; the test checks the process exits after it (nothing left open: runtime,
 * Better Auth's pool, the embedded server). On `DATABASE_URL` when set, else the embedded
 * default folder.
 */
import { betterAuth } from "better-auth"
import { Redacted } from "effect"
import { betterAuthDatabase, createAuthSession, fusionAuth } from "../../src/index.ts"
import { CurrentSession } from "../../src/effect.ts"
import { testPassword } from "./password.ts"

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
const viaToken = await resolve(bearer)
const email = await withSession(CurrentSession.useSync((s) => s.user.email), bearer)
if (process.env.FORGET_DISPOSE !== "1") await dispose()
console.log(JSON.stringify({ cookie: viaCookie?.session !== null, token: "session" in viaToken && viaToken.session.session === null, email, userId: response.user.id }))
console.log(`done ${Date.now()}`)
