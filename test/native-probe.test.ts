/**
 * The start-up check of what the native cookie path relies on in Better Auth's behaviour
 * (`services/NativeProbe.ts`), on real Better Auth (the locked release and 1.7.0): it passes
 * as Better Auth is, over the cookie settings apps use, and names the difference when one
 * relied-on behaviour is made to differ (Better Auth wrapped, each case one change).
 */
import { assert, describe, it } from "@effect/vitest"
import { betterAuth } from "better-auth"
import pg from "pg"
import { decide, type Plan } from "../src/core/NativeCookie.ts"
import { sign } from "../src/core/SignedCookie.ts"
import { fusionAuth } from "../src/index.ts"
import { type MakeAuth, probe } from "../src/services/NativeProbe.ts"
import { signUp } from "./support/auth.ts"
import { sqlBackends } from "./support/databases.ts"
import { wiredApp } from "./support/wired-app.ts"
import { testPassword } from "./support/password.ts"

const SECRET = "probe-secret-probe-secret-probe-secret-0123"

/** An app's Better Auth (never connected: the probe touches none of its data) and the native plan from its context. */
const app = async (options: Record<string, unknown> = {}) => {
  const auth = betterAuth({
    database: new pg.Pool({ connectionString: "postgres://nobody@127.0.0.1:1/none" }),
    secret: SECRET,
    baseURL: "http://localhost:3000",
    telemetry: { enabled: false },
    emailAndPassword: { enabled: true, password: testPassword },
    plugins: [fusionAuth()],
    ...options
  })
  const context = (await auth.$context) as { options: Record<string, any> }
  const decision = decide(context, "1.7.0")
  assert.strictEqual(decision._tag, "Native")
  return { plan: (decision as { plan: Plan }).plan, options: context.options }
}

/** `betterAuth`, with its `getSession` changed by `change`. */
const wrapped = (change: (getSession: any, input: any) => Promise<any>): MakeAuth => (options) => {
  const auth = betterAuth(options) as any
  return { $context: auth.$context, api: { getSession: (input: any) => change(auth.api.getSession, input) } }
}

/** A `Cookie` header with `name`'s value replaced by `value`. */
const replaceCookie = (headers: Headers, name: string, value: (old: string) => string | undefined) => {
  const parts = (headers.get("cookie") ?? "").split("; ").flatMap((part) => {
    if (!part.startsWith(`${name}=`)) return [part]
    const next = value(part.slice(name.length + 1))
    return next === undefined ? [] : [`${name}=${next}`]
  })
  return new Headers({ cookie: parts.join("; ") })
}

/** A signed value with its signature's first character changed (its last carries padding bits a decoder ignores). */
const flipSignature = (signed: string) => {
  const at = signed.lastIndexOf(".") + 1
  return signed.slice(0, at) + (signed[at] === "A" ? "B" : "A") + signed.slice(at + 1)
}

describe("the start-up check of Better Auth's behaviour", () => {
  it("passes on Better Auth as it is: default cookies, a cookie prefix, https with __Secure- names, custom ages, refresh disabled", async () => {
    for (const options of [
      {},
      { advanced: { cookiePrefix: "my-app" } },
      { baseURL: "https://app.example.com" },
      { session: { expiresIn: 3600, updateAge: 600 } },
      { session: { disableSessionRefresh: true } },
      // No live session is ever due: updateAge at or past expiresIn (an hour's session, a day's updateAge).
      { session: { expiresIn: 3600 } },
      { session: { expiresIn: 3600, updateAge: 3600 } },
      { session: { expiresIn: 3600, updateAge: 3540 } }
    ]) {
      const { plan, options: context } = await app(options)
      assert.strictEqual(await probe(plan, context), undefined, JSON.stringify(options))
    }
    const secure = await app({ baseURL: "https://app.example.com" })
    assert.strictEqual(secure.plan.cookieName, "__Secure-better-auth.session_token")
  })

  it("Better Auth refusing a cookie signed as fusion-auth signs it", async () => {
    const { plan, options } = await app()
    const make = wrapped((getSession, input) =>
      getSession({ ...input, headers: replaceCookie(input.headers, plan.cookieName, (old) => encodeURIComponent(flipSignature(decodeURIComponent(old)))) })
    )
    assert.strictEqual(await probe(plan, options, make), "Better Auth refused a session cookie signed as fusion-auth signs it")
  })

  it("Better Auth signing a cookie fusion-auth's reader does not verify (base64url, unpadded)", async () => {
    const { plan, options } = await app()
    const make = wrapped(async (getSession, input) => {
      const { headers, response } = await getSession(input)
      const resigned = new Headers()
      for (const line of headers.getSetCookie() as Array<string>) {
        const [pair, ...attributes] = line.split(";")
        const [name, value] = [pair!.slice(0, pair!.indexOf("=")), decodeURIComponent(pair!.slice(pair!.indexOf("=") + 1))]
        const at = value.lastIndexOf(".")
        const token = at < 0 ? value : value.slice(0, at)
        const signature = at < 0 ? "" : Buffer.from(sign(token, SECRET), "base64").toString("base64url")
        resigned.append("set-cookie", [`${name}=${encodeURIComponent(at < 0 ? value : `${token}.${signature}`)}`, ...attributes].join(";"))
      }
      return { headers: resigned, response }
    })
    assert.strictEqual(await probe(plan, options, make), "the session cookie Better Auth signed does not verify with fusion-auth's reader")
  })

  it("Better Auth refreshing later than refreshDue says (its updateAge rule changed)", async () => {
    const { plan, options } = await app()
    const make: MakeAuth = (options) => (betterAuth as any)({ ...options, session: { ...options.session, updateAge: options.session!.updateAge! * 2 } })
    assert.strictEqual(await probe(plan, options, make), "Better Auth's refresh rule differs: a session past updateAge was not refreshed as refreshDue says")
  })

  it("Better Auth refreshing earlier than refreshDue says", async () => {
    const { plan, options } = await app()
    const make: MakeAuth = (options) => (betterAuth as any)({ ...options, session: { ...options.session, updateAge: options.session!.updateAge! / 2 } })
    assert.strictEqual(await probe(plan, options, make), "Better Auth's refresh rule differs: a session within updateAge was refreshed or refused")
  })

  it("Better Auth refreshing a don't-remember session", async () => {
    const { plan, options } = await app()
    const make = wrapped((getSession, input) => getSession({ ...input, headers: replaceCookie(input.headers, plan.dontRememberName, () => undefined) }))
    assert.strictEqual(await probe(plan, options, make), "Better Auth's refresh rule differs: a don't-remember session was refreshed or refused")
  })

  it("Better Auth answering a session past its expiresAt", async () => {
    const { plan, options } = await app()
    const make = wrapped(async (getSession, input) => {
      const answer = await getSession(input)
      return answer.response === null ? { ...answer, response: { session: { token: "ended" }, user: {} } } : answer
    })
    assert.strictEqual(await probe(plan, options, make), "Better Auth answered a session past its expiresAt")
  })

  it("Better Auth naming its cookies otherwise than the context the plan was read from", async () => {
    const { plan, options } = await app()
    const make: MakeAuth = (options) => (betterAuth as any)({ ...options, advanced: { ...options.advanced, cookiePrefix: "renamed" } })
    assert.match(await probe(plan, options, make) ?? "", /^Better Auth names its cookies renamed\.session_token and renamed\.dont_remember, not better-auth\.session_token/)
  })
})

for (const backend of sqlBackends) {
  describe(`the start-up check inside an app's request, on ${backend.name}`, () => {
    it("an app whose first cookie is resolved inside one of Better Auth's endpoints (the token endpoint): the probe reads and writes nothing of the app's, and the native path is on", async () => {
      const wired = await wiredApp(backend)
      try {
        const { cookie } = await signUp(wired.setup.auth, `first.${Math.random().toString(36).slice(2, 8)}@example.com`)
        wired.wire.reset()
        const created = await wired.setup.auth.handler(new Request("http://localhost:3000/api/auth/fusion-auth/tokens/create", {
          method: "POST",
          headers: { "content-type": "application/json", cookie, origin: "http://localhost:3000" },
          body: JSON.stringify({ name: "first" })
        }))
        assert.strictEqual(created.status, 200, await created.clone().text())
        // The app's own writes are the token and its audit line; the probe's throwaway sessions never reach the app's database.
        const writes = wired.wire.statements().filter((s) => s.write).map((s) => s.text)
        assert.deepStrictEqual(writes.filter((text) => !/insert into "apiToken"|insert into "fusionAuditEvent"/.test(text)).map((t) => t.slice(0, 200)), [])
        wired.wire.reset()
        assert.isNotNull(await wired.app.getSession(new Headers({ cookie })))
        assert.strictEqual(wired.wire.statements().length, 1, "the native cookie path: one statement")
      } finally {
        await wired.close()
      }
    }, 60_000)
  })
}
