/**
 * Open redirects: every crafted value of `test/fixtures/redirects.ts`, and 20,000 generated
 * ones, through `safeRedirectPath`, `loginLocation` (as request path, login path and
 * server-function `Referer`) and `requireSession` on a real request. Each `Location` must
 * resolve, as a browser resolves it (`new URL(location, origin)`), to the app's own origin,
 * hold only printable ASCII, and carry a `redirect` parameter that does the same and that the
 * login page's own `safeRedirectPath` keeps as is.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { afterAll, beforeAll } from "vitest"
import { loginLocation, safeRedirectPath } from "../../src/effect.ts"
import { redirects } from "../fixtures/redirects.ts"
import { makeWorld, type World } from "./world.ts"

const ORIGIN = "https://app.example"
const PRINTABLE_ASCII = /^[\u0021-\u007e]+$/

/** A path a browser would follow from this origin without leaving it. */
const assertLocal = (path: string, what: string) => {
  assert.match(path, PRINTABLE_ASCII, `${what}: ${JSON.stringify(path)} holds a control, space or non-ASCII character`)
  const local = path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\")
  assert.isTrue(local, `${what}: ${JSON.stringify(path)} is not a local path`)
  assert.strictEqual(new URL(path, ORIGIN).origin, ORIGIN, `${what}: ${JSON.stringify(path)} leaves the origin`)
}

/** A login `Location`: local itself, and its `redirect` local and stable under the login page's own check. */
const assertLoginLocation = (location: string, what: string) => {
  assertLocal(location, what)
  const redirect = new URL(location, ORIGIN).searchParams.get("redirect")
  assert.isNotNull(redirect, `${what}: no redirect parameter in ${location}`)
  assertLocal(redirect!, `${what} (redirect parameter)`)
  assert.strictEqual(safeRedirectPath(redirect), redirect, `${what}: the login page would change ${redirect}`)
}

/** The value as a request path on the origin (a value that is not a path gets a leading slash). */
const requestUrl = (value: string) => `${ORIGIN}${value.startsWith("/") ? "" : "/"}${value}`

/** `new Request` / `new Headers` refuse some values outright (an unparsable URL, a control byte in Referer). */
const attempt = <A>(make: () => A): A | undefined => {
  try {
    return make()
  } catch (error) {
    if (error instanceof TypeError) return undefined
    throw error
  }
}

const serverFnCall = (referer: string) =>
  attempt(() => new Request(`${ORIGIN}/_serverFn/abc?payload=1`, { method: "POST", headers: { "x-tsr-serverfn": "true", referer } }))

describe("redirect corpus", () => {
  it("holds at least 100 values, each once", () => {
    assert.isAtLeast(redirects.length, 100)
    assert.strictEqual(new Set(redirects.map((c) => c.value)).size, redirects.length)
  })

  for (const { value, safe } of redirects) {
    it(`safeRedirectPath(${JSON.stringify(value.slice(0, 60))}) → ${safe}`, () => {
      const result = safeRedirectPath(value)
      assert.strictEqual(result, safe)
      assertLocal(result, "safeRedirectPath")
      assert.strictEqual(safeRedirectPath(result), result, "not stable: a second pass changes it")
    })
  }

  it("every value as a request path, a login path and a server-function Referer gives a local Location", () => {
    for (const { value } of redirects) {
      const what = JSON.stringify(value.slice(0, 60))
      assertLoginLocation(loginLocation({ url: requestUrl(value) }), `request path ${what}`)
      assertLoginLocation(loginLocation({ url: value }), `request URL ${what}`)
      // The login path is the app's own setting, not the caller's: its Location only has to stay local.
      assertLocal(loginLocation({ url: `${ORIGIN}/settings` }, value), `login path ${what}`)
      for (const referer of [requestUrl(value), value, `https://evil.com${value.startsWith("/") ? "" : "/"}${value}`]) {
        const call = serverFnCall(referer)
        if (call !== undefined) assertLoginLocation(loginLocation(call), `server-function Referer ${what}`)
      }
    }
  })
})

describe("requireSession on real requests", () => {
  let world: World
  beforeAll(async () => {
    world = await makeWorld()
  })
  afterAll(async () => {
    await world.close()
  })

  /** What `requireSession` throws for this request: it must be a 302 to a local login page. */
  const refusal = async (request: Request, what: string) => {
    const thrown = await world.app.requireSession(request).then(() => undefined, (error: unknown) => error)
    assert.instanceOf(thrown, Response, `${what}: requireSession did not refuse with a response`)
    const response = thrown as Response
    assert.strictEqual(response.status, 302, what)
    assertLoginLocation(response.headers.get("location") ?? "", what)
  }

  it("an anonymous browser at each crafted path is sent to a local login page, with a local way back", async () => {
    let requests = 0
    for (const { value } of redirects) {
      const what = JSON.stringify(value.slice(0, 60))
      const page = attempt(() => new Request(requestUrl(value)))
      if (page !== undefined) {
        requests++
        await refusal(page, `page ${what}`)
        await refusal(new Request(page, { headers: { cookie: world.deactivated.cookie } }), `deactivated at ${what}`)
      }
      const call = serverFnCall(requestUrl(value))
      if (call !== undefined) {
        requests++
        await refusal(call, `server function from ${what}`)
      }
    }
    assert.isAtLeast(requests, 200)
  })
})

describe("generated redirect values", () => {
  /** Strings built from the characters open redirects are made of. */
  const hostile = fc.string({
    unit: fc.constantFrom("/", "/", "\\", ".", ":", "@", "?", "#", "%", "2", "F", "f", "5", "C", "e", "0", "9", "a", "d",
      "evil.com", "https:", "javascript:", "//", "\t", "\n", "\r", " ", "\u0000", "\u3002", "\uff0f", "\u2215", "\u00a0", "\ud800"),
    maxLength: 24
  })

  it("safeRedirectPath and loginLocation keep 20,000 generated values on the origin", () => {
    fc.assert(
      fc.property(hostile, (value) => {
        assertLocal(safeRedirectPath(value), "safeRedirectPath")
        assertLocal(safeRedirectPath(`/${value}`), "safeRedirectPath")
        assertLoginLocation(loginLocation({ url: requestUrl(value) }), "request path")
        assertLocal(loginLocation({ url: `${ORIGIN}/x` }, value), "login path")
      }),
      { numRuns: 20_000, ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }) }
    )
  })
})
