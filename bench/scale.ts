/**
 * The scale pass's fixture: 10⁶ fusion-auth tokens, 10⁶ Better Auth sessions and 10⁶ API
 * keys over 10⁵ users, made in the database by one `insert … select` per table and kind of
 * row, so it takes a minute, not an hour.
 *
 * Every row is a copy of a template made the ordinary way (the small fixture's one sign-up,
 * token and key), with its identity replaced, so each carries whatever columns the
 * migrations gave the table. A few thousand credentials of each kind are made here and
 * presented, spread over the users: a token's digest is `ApiToken.digest` of it, an API key's
 * hash the plugin's own (SHA-256, base64url), a session cookie is signed with Better Auth's
 * secret and its cached-session cookie is the one Better Auth's `/get-session` sets. The
 * other rows are filler: well-formed, with digests of nothing ever presented.
 */
import { createHash, randomBytes } from "node:crypto"
import { Redacted } from "effect"
import pg from "pg"
import * as SignedCookie from "../src/core/SignedCookie.ts"
import { ApiToken } from "../src/effect.ts"
import { cookieAuth } from "./auth.ts"
import { type Fixture, makeFixture } from "./fixture.ts"
import type { ScaleOptions } from "./options.ts"

export interface ScaleFixture {
  readonly fixture: Fixture
  /** Rows in each table once made (templates included). */
  readonly rows: { readonly users: number; readonly tokens: number; readonly sessions: number; readonly apiKeys: number }
  /** Seconds to make it, and of that the bulk inserts and the `vacuum analyze`. */
  readonly seconds: number
  readonly insertSeconds: number
  readonly vacuumSeconds: number
}

type Log = (line: string) => void

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
const random = (alphabet: string, length: number) => Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join("")
/** Better Auth's session token shape (32 alphanumerics); the plugin's default key (64 letters). */
const sessionToken = () => random(ALNUM, 32)
const apiKey = () => random(ALNUM.slice(0, 52), 64)
const keyHash = (key: string) => createHash("sha256").update(key).digest("base64url")
const sqlHash = (seed: string) => `sha256(convert_to(${seed}, 'UTF8'))`

/**
 * `insert into table select …` with every column copied from the template row unless
 * `set` gives its expression; `from` names the rows (`generate_series(…) g` or `unnest(…) p`).
 */
const clone = async (
  client: pg.PoolClient | pg.Pool,
  table: string,
  template: { readonly column: string; readonly value: string },
  set: Record<string, string>,
  from: string,
  params: ReadonlyArray<unknown>
) => {
  const { rows } = await client.query<{ name: string }>(
    `select column_name as name from information_schema.columns
     where table_schema = current_schema() and table_name = $1 order by ordinal_position`, [table])
  const columns = rows.map((r) => `"${r.name}"`).join(", ")
  const values = rows.map((r) => set[r.name] ?? `tpl."${r.name}"`).join(", ")
  const at = params.length + 1
  await client.query(
    `insert into "${table}" (${columns}) select ${values}
     from ${from}, (select * from "${table}" where "${template.column}" = $${at}) tpl`,
    [...params, template.value]
  )
}

const inParallel = async <A, B>(items: ReadonlyArray<A>, width: number, f: (a: A, i: number) => Promise<B>) => {
  const out: Array<B> = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!, i)
    }
  }))
  return out
}

export const makeScaleFixture = async (url: string, size: ScaleOptions, log: Log): Promise<ScaleFixture> => {
  const t0 = performance.now()
  const seconds = (from: number) => (performance.now() - from) / 1000
  // The templates, and the migrations: one sign-up, one token, one API key, made as the small fixture makes them.
  const base = await makeFixture(url, { sessions: 1, tokens: 1 })
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on("error", () => undefined)
  try {
    const { users: U, presented: P } = size
    const owner = (j: number, shift: number) => `scale_u_${1 + ((j * 7919 + shift) % U)}`
    const tokens = Array.from({ length: P }, () => ApiToken.generate())
    const keys = Array.from({ length: P }, apiKey)
    const sessions = Array.from({ length: P }, sessionToken)
    const tokenUsers = tokens.map((_, j) => owner(j, 0))
    const cookieUsers = sessions.map((_, j) => owner(j, 1))
    const userOf = (g: string) => `'scale_u_' || (1 + ${g} % ${U})`
    const ids = (kind: string) => Array.from({ length: P }, (_, j) => `scale_${kind}p_${j}`)

    const insertStart = performance.now()
    await clone(pool, "user", { column: "id", value: base.tokenUsers[0]! },
      { id: "'scale_u_' || g", email: "'scale_u_' || g || '@example.com'", name: "'Scale user ' || g" },
      "generate_series(1, $1::int) g", [U])
    const presentedAndFiller = async (
      table: string, template: { column: string; value: string }, total: number,
      presented: { set: Record<string, string>; columns: string; arrays: ReadonlyArray<ReadonlyArray<string>> },
      filler: Record<string, string>
    ) => {
      const client = await pool.connect()
      try {
        await client.query("set synchronous_commit = off")
        const unnest = `unnest(${presented.arrays.map((_, i) => `$${i + 1}::text[]`).join(", ")}) as p(${presented.columns})`
        await clone(client, table, template, presented.set, unnest, presented.arrays)
        await clone(client, table, template, filler, "generate_series(1, $1::int) g", [Math.max(0, total - P)])
      } finally {
        client.release()
      }
    }
    await Promise.all([
      presentedAndFiller("apiToken", { column: "digest", value: base.digests[0]! }, size.tokens,
        {
          columns: "id, digest, hint, owner",
          set: { id: "p.id", digest: "p.digest", hint: "p.hint", userId: "p.owner" },
          arrays: [ids("t"), tokens.map((t) => ApiToken.digest(t)), tokens.map((t) => ApiToken.hint(t)), tokenUsers]
        },
        { id: "'scale_tf_' || g", digest: `encode(${sqlHash("'scale_tf_' || g")}, 'hex')`, userId: userOf("g") }),
      presentedAndFiller("session", { column: "token", value: base.sessionTokens[0]! }, size.sessions,
        { columns: "id, token, owner", set: { id: "p.id", token: "p.token", userId: "p.owner" }, arrays: [ids("s"), sessions, cookieUsers] },
        { id: "'scale_sf_' || g", token: `substr(encode(${sqlHash("'scale_sf_' || g")}, 'hex'), 1, 32)`, userId: userOf("g") }),
      presentedAndFiller("apikey", { column: "referenceId", value: base.tokenUsers[0]! }, size.apiKeys,
        {
          columns: "id, key, start, owner",
          set: { id: "p.id", key: "p.key", start: "p.start", referenceId: "p.owner" },
          arrays: [ids("k"), keys.map(keyHash), keys.map((k) => k.slice(0, 6)), tokenUsers]
        },
        {
          id: "'scale_kf_' || g",
          key: `translate(rtrim(encode(${sqlHash("'scale_kf_' || g")}, 'base64'), '='), '+/', '-_')`,
          referenceId: userOf("g")
        })
    ])
    const insertSeconds = seconds(insertStart)
    const vacuumStart = performance.now()
    await Promise.all(["user", "apiToken", "session", "apikey"].map((t) => pool.query(`vacuum analyze "${t}"`)))
    const vacuumSeconds = seconds(vacuumStart)
    log(`scale fixture: rows inserted in ${insertSeconds.toFixed(1)} s, vacuum analyze ${vacuumSeconds.toFixed(1)} s`)

    // Cookies: the session token signed as Better Auth signs it; with the cache on, plus the cached session it sets.
    const auth = cookieAuth(pool as unknown as pg.Pool, true)
    const context = (await auth.$context) as { secret: string; authCookies: { sessionToken: { name: string } } }
    const cookiesOff = sessions.map((t) => `${context.authCookies.sessionToken.name}=${SignedCookie.serialize(t, context.secret)}`)
    const cookiesOn = await inParallel(cookiesOff, 8, async (cookie, j) => {
      const response = await auth.handler(new Request("http://localhost:3000/api/auth/get-session", { headers: { cookie } }))
      const body = (await response.json()) as { user?: { id?: string } } | null
      if (body?.user?.id !== cookieUsers[j]) throw new Error(`scale fixture: session ${j} did not resolve to its owner`)
      const cached = response.headers.getSetCookie().map((c) => c.split(";")[0]!).filter((c) => !c.startsWith(`${context.authCookies.sessionToken.name}=`))
      if (cached.length === 0) throw new Error("scale fixture: Better Auth set no cached-session cookie")
      return [cookie, ...cached].join("; ")
    })
    const count = async (table: string) => Number((await pool.query(`select count(*) as n from "${table}"`)).rows[0].n)
    return {
      fixture: {
        cookieUsers,
        cookiesOff,
        cookiesOn,
        sessionTokens: sessions,
        tokenUsers,
        tokens: tokens.map((t) => Redacted.value(t)),
        digests: tokens.map((t) => ApiToken.digest(t)),
        apiKeys: keys
      },
      rows: { users: await count("user"), tokens: await count("apiToken"), sessions: await count("session"), apiKeys: await count("apikey") },
      seconds: seconds(t0),
      insertSeconds,
      vacuumSeconds
    }
  } finally {
    await pool.end()
  }
}
