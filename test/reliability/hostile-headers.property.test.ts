/**
 * Hostile `Authorization` and `Cookie` headers, generated with fast-check and run through the
 * real resolver on embedded PGlite with real Better Auth: 10,500 cases a run.
 *
 * Every case must end in a session of the live user *from a live credential it carries*, or
 * in exactly one of Anonymous / Deactivated / InvalidToken: never a defect, never another
 * user. Each generator also states the outcome it expects (a mutated token is InvalidToken,
 * a Bearer credential decides alone, …). Most cases are malformed and cost no I/O; about a
 * quarter are well formed enough to reach the database (unknown tokens, validly signed
 * cookies naming no session, live and revoked credentials), and malformed tokens are checked
 * to cost zero statements. A value the WHATWG `Headers` class refuses (NUL, CR, LF inside,
 * characters above U+00FF) never reaches the resolver; it is counted, and only allowed
 * when the value does hold such a character. `FC_SEED=<n>` replays a run.
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { afterAll, beforeAll } from "vitest"
import { ApiToken } from "../../src/effect.ts"
import { label, makeWorld, SESSION_COOKIE, signCookieValue, withChecksum, type World } from "./world.ts"

/** What a generated part expects when it decides: a label, `InvalidToken` (any reason) or `any`. */
type Expect = "session" | "Anonymous" | "Deactivated" | "InvalidToken" | `InvalidToken/${string}` | "any"

interface AuthPart {
  readonly value: string | null
  /** `true`: a Bearer credential, which decides alone; `false`: the cookie decides; `null`: unknown. */
  readonly decides: boolean | null
  readonly expect: Expect
}
interface CookiePart {
  readonly value: string | null
  readonly expect: Expect
}
interface Case {
  readonly authorization: string | null
  readonly cookie: string | null
  readonly expect: Expect
}

const combine = (auth: AuthPart, cookie: CookiePart): Case => ({
  authorization: auth.value,
  cookie: cookie.value,
  expect: auth.decides === true ? auth.expect : auth.decides === false ? cookie.expect : "any"
})

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const base62 = fc.constantFrom(...BASE62)
const latin1 = fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c))
const control = fc.constantFrom("\t", "\u000b", "\f", "\u0000", "\r", "\n", "\u001f", "\u007f", "\u0085")
/** Characters that look like the ones in `sk_live_`: Cyrillic, fullwidth, invisible, accented. */
const lookalike = fc.constantFrom("\u0455", "\u043a", "\u0456", "\u217c", "\u1d20", "\u0435", "\uff3f", "\u2017", "\uff53",
  "\u200b", "\u00ad", "\u00ec", "\u00ed", "\u00a1", "\u00a0", "\u0399", "\u2024", "\u02cd", "\u2010")
const anyChar = fc.oneof(
  { weight: 8, arbitrary: base62 },
  { weight: 6, arbitrary: latin1 },
  { weight: 1, arbitrary: control },
  { weight: 1, arbitrary: lookalike },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) }
)
const junk = (maxLength: number) => fc.string({ unit: anyChar, maxLength })
const sqlFragment = fc.constantFrom("'", "\"", ";", "--", "/*", "*/", " OR 1=1", "' OR '1'='1", "'; DROP TABLE \"apiToken\"; --",
  "UNION SELECT * FROM \"user\"", "\\", "%", "_", "$1", "::text", "pg_sleep(10)", "\\x00", "%00", "' || '")

/** One edit that changes `value`: substitute, delete, truncate, insert, affix, swap, flip case. */
const mutate = (value: string) =>
  fc.oneof(
    fc.tuple(fc.nat({ max: value.length - 1 }), anyChar).map(([i, c]) => value.slice(0, i) + c + value.slice(i + 1)),
    fc.nat({ max: value.length - 1 }).map((i) => value.slice(0, i) + value.slice(i + 1)),
    fc.nat({ max: value.length - 1 }).map((i) => value.slice(0, i)),
    fc.tuple(fc.nat({ max: value.length }), anyChar).map(([i, c]) => value.slice(0, i) + c + value.slice(i)),
    fc.tuple(junk(8), junk(8)).map(([before, after]) => before + value + after),
    fc.nat({ max: value.length - 2 }).map((i) => value.slice(0, i) + value[i + 1] + value[i] + value.slice(i + 2)),
    fc.nat({ max: value.length - 1 }).map((i) => {
      const c = value[i]!
      return value.slice(0, i) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + value.slice(i + 1)
    })
  ).filter((mutated) => mutated !== value)

/** HTTP whitespace that `Headers` strips from both ends, and `[ \t]` the Bearer syntax allows. */
const stripped = (value: string) => value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "")

/** Other schemes are not fusion-auth's: the cookie decides, even with the live token in them. */
const otherSchemes = (world: World): fc.Arbitrary<AuthPart> =>
  fc.tuple(
    fc.constantFrom("Basic", "Digest", "Token", "ApiKey", "Bearerx", "XBearer", "Negotiate", "Bearer:", "Bearer=",
      "Bearer\u000b", "Bearer\u00a0", "Bearer%20", "Bearer\f", "sk_live_"),
    fc.oneof(fc.constant(world.live.token), fc.base64String({ maxLength: 40 }), fc.string({ unit: latin1, maxLength: 40 }))
  ).filter(([, credential]) => !/bearer|,/i.test(credential)).map(([scheme, credential]): AuthPart => ({
    value: `${scheme} ${credential}`,
    decides: false,
    expect: "any"
  }))

const authorizations = (world: World): fc.Arbitrary<AuthPart> => {
  const { live } = world
  const bearer = fc.tuple(
    fc.mixedCase(fc.constant("bearer")),
    fc.string({ unit: fc.constantFrom(" ", "\t"), minLength: 1, maxLength: 4 }),
    fc.string({ unit: fc.constantFrom(" ", "\t"), maxLength: 3 })
  )
  return fc.oneof(
    // The live token under every spelling of the scheme the syntax allows.
    {
      weight: 2,
      arbitrary: bearer.map(([scheme, gap, tail]): AuthPart => ({
        value: `${scheme}${gap}${live.token}${tail}`,
        decides: true,
        expect: "session"
      }))
    },
    // The live token with one edit: refused, unless the edit was whitespace Headers strips anyway.
    {
      weight: 6,
      arbitrary: mutate(live.token).map((token): AuthPart => ({
        value: `Bearer ${token}`,
        decides: true,
        expect: stripped(token) === live.token ? "session" : "InvalidToken"
      }))
    },
    // Well formed with a good checksum, never issued: one round trip, then unknown.
    {
      weight: 3,
      arbitrary: fc.string({ unit: base62, minLength: 32, maxLength: 32 }).map((body): AuthPart => ({
        value: `Bearer ${withChecksum(ApiToken.PREFIX + body)}`,
        decides: true,
        expect: "InvalidToken/unknown"
      }))
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<AuthPart>(
        { value: `Bearer ${world.revokedToken}`, decides: true, expect: "InvalidToken/revoked" },
        { value: `Bearer ${world.expiredToken}`, decides: true, expect: "InvalidToken/expired" },
        { value: `Bearer ${world.deactivated.token}`, decides: true, expect: "Deactivated" }
      )
    },
    // More than one credential, or decoration around it: the whole header is malformed.
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `Bearer T, Bearer T`, `Basic eDp5, Bearer T`, `Bearer T, Basic eDp5`, `Bearer T T`, `Bearer T,`, `, Bearer T`,
        `Bearer "T"`, `Bearer T;`, `Bearer 'T'`, `Bearer <T>`, `Bearer T=`, `bearer bearer T`, `Bearer sk_live_T`
      ).map((template): AuthPart => ({ value: template.replaceAll("T", live.token), decides: true, expect: "InvalidToken/malformed" }))
    },
    // The scheme and then anything at all, SQL included.
    {
      weight: 4,
      arbitrary: fc.oneof(junk(80), fc.array(fc.oneof(sqlFragment, junk(6)), { maxLength: 6 }).map((parts) => parts.join("")))
        .map((rest): AuthPart => ({ value: `Bearer ${rest}`, decides: true, expect: "InvalidToken" }))
    },
    // Huge values: refused by length before any parsing or I/O.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 200, max: 70_000 }), fc.constantFrom("A", " ", ",", "bearer ", live.token)).map(
        ([length, unit]): AuthPart => ({
          value: `Bearer ${unit.repeat(Math.ceil(length / unit.length))}x`,
          decides: true,
          expect: "InvalidToken/malformed"
        })
      )
    },
    { weight: 3, arbitrary: otherSchemes(world) },
    // Soup of the pieces a header is made of: no stated outcome, only the universal rules.
    {
      weight: 2,
      arbitrary: fc.array(
        fc.oneof(
          fc.constantFrom("Bearer", "bearer", " ", "\t", ",", ApiToken.PREFIX, live.token, world.deactivated.token, "Basic", "=", "\""),
          junk(6)
        ),
        { maxLength: 8 }
      ).map((parts): AuthPart => ({ value: parts.join(""), decides: null, expect: "any" }))
    }
  )
}

/** Cookie names and values a browser of another app, or a tamperer, would send. */
const otherCookie = fc.tuple(
  fc.constantFrom("theme", "lang", "_ga", "connect.sid", "next-auth.session-token", "JSESSIONID", "PHPSESSID", "__Host-session",
    "sb-access-token", "better-auth.session_data", "better-auth.dont_remember", "better_auth.session_token", "csrf"),
  fc.string({ unit: fc.constantFrom(...BASE62, "-", "_", ".", "%", "=", "/", "+"), maxLength: 60 })
).map(([name, value]) => `${name}=${value}`)

const cookies = (world: World): fc.Arbitrary<CookiePart> => {
  const { live } = world
  const withNoise = (pair: string) =>
    fc.tuple(fc.array(otherCookie, { maxLength: 4 }), fc.nat(4), fc.constantFrom("; ", ";", ";  "))
      .map(([others, at, separator]) => [...others.slice(0, at), pair, ...others.slice(at)].join(separator))
  const signature = decodeURIComponent(live.cookieValue).split(".")[1]!
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<CookiePart>({ value: null, expect: "Anonymous" }) },
    { weight: 2, arbitrary: withNoise(live.cookie).map((value): CookiePart => ({ value, expect: "session" })) },
    { weight: 1, arbitrary: withNoise(world.deactivated.cookie).map((value): CookiePart => ({ value, expect: "Deactivated" })) },
    // The session token with one edit, under the live signature (no I/O) or re-signed with the real secret (one round trip).
    {
      weight: 4,
      arbitrary: fc.tuple(mutate(live.sessionToken), fc.boolean())
        .filter(([token, resign]) => !(resign && token.includes("\u0000"))) // needs the server secret; see the corpus
        .map(([token, resign]): CookiePart => ({
          value: `${SESSION_COOKIE}=${resign ? signCookieValue(token) : encodeURIComponent(`${token}.${signature}`)}`,
          expect: "Anonymous"
        }))
    },
    // The live session token under a forged signature.
    {
      weight: 2,
      arbitrary: fc.string({ unit: fc.constantFrom(...BASE62, "+", "/"), minLength: 43, maxLength: 43 })
        .filter((forged) => `${forged}=` !== signature)
        .map((forged): CookiePart => ({
          value: `${SESSION_COOKIE}=${encodeURIComponent(`${live.sessionToken}.${forged}=`)}`,
          expect: "Anonymous"
        }))
    },
    // A validly signed value naming no session, SQL included: reaches Better Auth's query.
    {
      weight: 3,
      arbitrary: fc.array(fc.oneof(sqlFragment, fc.string({ unit: "grapheme", maxLength: 12 })), { minLength: 1, maxLength: 5 })
        .map((parts) => parts.join(""))
        .filter((raw) => raw !== live.sessionToken && !raw.includes("\u0000"))
        .map((raw): CookiePart => ({ value: `${SESSION_COOKIE}=${signCookieValue(raw)}`, expect: "Anonymous" }))
    },
    // The live cookie value under another name, or other apps' cookies.
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom(`__Secure-${SESSION_COOKIE}`, `__Host-${SESSION_COOKIE}`, "Better-Auth.Session_Token", `${SESSION_COOKIE}_x`,
          "better-auth.session-token", "session_token").map((name) => `${name}=${live.cookieValue}`),
        fc.array(otherCookie, { minLength: 1, maxLength: 5 }).map((pairs) => pairs.join("; "))
      ).map((value): CookiePart => ({ value, expect: "Anonymous" }))
    },
    // Soup: anything, with the real name and value mixed in. Only the universal rules apply.
    {
      weight: 2,
      arbitrary: fc.array(
        fc.oneof(fc.constantFrom(";", "=", " ", ",", "\"", SESSION_COOKIE, live.cookieValue, live.sessionToken, "."), junk(8)),
        { maxLength: 8 }
      ).map((parts): CookiePart => ({ value: parts.join(""), expect: "any" }))
    }
  )
}

const noAuthorization = fc.constant<AuthPart>({ value: null, decides: false, expect: "any" })
const noCookie: CookiePart = { value: null, expect: "Anonymous" }

/** Characters the WHATWG `Headers` class refuses inside a value. */
const REFUSED_BY_HEADERS = /[\u0000\r\n]|[^\u0000-\u00ff]/

interface Tally {
  cases: number
  rejectedByHeaders: number
  reachedDatabase: number
  readonly outcomes: Map<string, number>
}

/** Runs one case and checks it against the universal rules and its own expectation. */
const check = async (world: World, c: Case, tally: Tally): Promise<void> => {
  tally.cases++
  let headers: Headers
  try {
    headers = new Headers()
    if (c.authorization !== null) headers.append("authorization", c.authorization)
    if (c.cookie !== null) headers.append("cookie", c.cookie)
  } catch (error) {
    assert.instanceOf(error, TypeError)
    assert.match(`${c.authorization ?? ""}${c.cookie ?? ""}`, REFUSED_BY_HEADERS, "Headers refused a value it should accept")
    tally.rejectedByHeaders++
    return
  }
  const { outcome, statements } = await world.resolve(headers)
  const seen = label(outcome)
  tally.outcomes.set(seen, (tally.outcomes.get(seen) ?? 0) + 1)
  if (statements > 0) tally.reachedDatabase++

  const authorization = headers.get("authorization") ?? ""
  const cookie = safeDecode(headers.get("cookie") ?? "")
  assert.notStrictEqual(outcome.kind, "defect", (outcome as { cause?: string }).cause)
  if (outcome.kind === "session") {
    assert.strictEqual(outcome.userId, world.live.userId, "a session for someone else")
    if (outcome.credential === "token") assert.include(authorization, world.live.token, "a token session without the live token")
    else assert.include(cookie, world.live.sessionToken, "a cookie session without the live cookie")
  }
  if (outcome.kind === "Deactivated") {
    const held = outcome.credential === "token"
      ? authorization.includes(world.deactivated.token)
      : cookie.includes(world.deactivated.sessionToken)
    assert.isTrue(held, "Deactivated without the deactivated user's credential")
  }
  if (seen === "InvalidToken/malformed") assert.strictEqual(statements, 0, "a malformed token reached the database")
  if (c.expect !== "any") {
    const matches = c.expect === "InvalidToken" ? outcome.kind === "InvalidToken" : seen === c.expect
    assert.isTrue(matches, `expected ${c.expect}, got ${seen}`)
  }
}

const safeDecode = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

const seed = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }

const run = (world: () => World, tally: Tally, arbitrary: (world: World) => fc.Arbitrary<Case>, numRuns: number) =>
  fc.assert(fc.asyncProperty(arbitrary(world()), (c) => check(world(), c, tally)), { numRuns, ...seed })

const summary = (name: string, tally: Tally) =>
  console.info(
    `${name}: ${tally.cases} cases, ${tally.rejectedByHeaders} rejected by Headers, ${tally.reachedDatabase} reached the database; ` +
      [...tally.outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(", ")
  )

const newTally = (): Tally => ({ cases: 0, rejectedByHeaders: 0, reachedDatabase: 0, outcomes: new Map() })

describe("generated hostile headers, cookie cache off", () => {
  let world: World
  const tally = newTally()
  beforeAll(async () => {
    world = await makeWorld()
  })
  afterAll(async () => {
    summary("cookie cache off", tally)
    await world.close()
  })

  it("Authorization alone: 3,000 cases", async () => {
    await run(() => world, tally, (w) => authorizations(w).map((auth) => combine(auth, noCookie)), 3_000)
  })

  it("Cookie alone, or behind a scheme that is not Bearer: 3,000 cases", async () => {
    await run(() => world, tally, (w) =>
      fc.tuple(fc.oneof(noAuthorization, otherSchemes(w)), cookies(w))
        .map(([auth, cookie]) => combine(auth, cookie)), 3_000)
  })

  it("both headers together: a Bearer credential decides alone, 3,000 cases", async () => {
    await run(() => world, tally, (w) => fc.tuple(authorizations(w), cookies(w)).map(([auth, cookie]) => combine(auth, cookie)), 3_000)
  })

  it("the live credentials still work after all of it, and the suite reached the database", async () => {
    assert.strictEqual(label((await world.resolve(new Headers({ authorization: `Bearer ${world.live.token}` }))).outcome), "session")
    assert.strictEqual(label((await world.resolve(new Headers({ cookie: world.live.cookie }))).outcome), "session")
    assert.isAbove(tally.reachedDatabase, 1_000, "too few cases reached the database to mean anything")
  })
})

describe("generated hostile headers, cookie cache on", () => {
  let world: World
  const tally = newTally()
  beforeAll(async () => {
    world = await makeWorld({ cookieCache: true })
  })
  afterAll(async () => {
    summary("cookie cache on", tally)
    await world.close()
  })

  it("both headers, plus forged cookie-cache values: 1,500 cases", async () => {
    const sessionData = fc.tuple(fc.oneof(fc.base64String({ maxLength: 400 }), junk(60)), fc.boolean()).map(
      ([data, withLive]): CookiePart => ({
        value: `better-auth.session_data=${data}${withLive ? `; ${world.live.cookie}` : ""}`,
        expect: withLive ? "session" : "Anonymous"
      })
    )
    await run(() => world, tally, (w) =>
      fc.tuple(authorizations(w), fc.oneof(cookies(w), sessionData)).map(([auth, cookie]) => combine(auth, cookie)), 1_500)
  })
})

