/**
 * GitHub's secret-scanning partner alerts, on real Better Auth and a real database (PGlite, and
 * Postgres with DATABASE_URL): a report signed with a key pair made here revokes the app's
 * tokens it names, of any accepted prefix, and is answered with one verdict per match; 62
 * hostile requests (unsigned, mis-signed, replayed, oversized, malformed) are refused with no
 * side effect; GitHub's key list is fetched through the injected `fetch`, once, and cached.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import { createAuthSession, githubSecretScanning } from "../src/index.ts"
import { makeAuth, migrate, signUp } from "./support/auth.ts"
import { sqlBackends, type TestDatabase } from "./support/databases.ts"

const pair = () => generateKeyPairSync("ec", { namedCurve: "prime256v1" })
const github = pair()
const KEY_ID = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"
const keys = [{ key_identifier: KEY_ID, key: github.publicKey.export({ type: "spki", format: "pem" }).toString() }]

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const signed = (body: string | Uint8Array, key: KeyObject = github.privateKey) => sign("sha256", Buffer.from(body), key).toString("base64")

/** A request as GitHub sends it: the raw body, its key id and signature. */
const alert = (body: string | Uint8Array, headers: Record<string, string | undefined> = {}, method = "POST") => {
  const all: Record<string, string | undefined> = {
    "content-type": "application/json",
    "github-public-key-identifier": KEY_ID,
    "github-public-key-signature": signed(body),
    ...headers
  }
  const init: RequestInit = { method, headers: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string> }
  return new Request("https://app.example/api/github/secret-scanning", method === "GET" ? init : { ...init, body: Buffer.from(body) })
}

const match = (token: string, url = "https://github.com/octo/repo/blob/abc/.env") => ({ token, type: "acme_api_token", url, source: "content" })

for (const backend of sqlBackends) {
  describe(`GitHub secret-scanning alerts on ${backend.name}`, () => {
    let db: TestDatabase
    let setup: ReturnType<typeof makeAuth>
    let app: ReturnType<typeof createAuthSession<ReturnType<typeof makeAuth>["auth"]>>
    let n = 0

    beforeAll(async () => {
      db = await backend.make()
      setup = makeAuth(db.url)
      await migrate(setup.auth, { url: db.url })
      app = createAuthSession(setup.auth, { database: { url: db.url }, tokens: { prefix: "acme_", legacyPrefixes: ["sk_live_"] } })
    }, 120_000)
    afterAll(async () => {
      await app?.dispose()
      await setup?.pool.end()
      await db?.close()
    })

    const live = async (token: string) => (await app.getSession(new Headers({ authorization: `Bearer ${token}` }))) !== null
    const user = async () => (await signUp(setup.auth, `leak${++n}.${backend.name}@example.com`)).userId

    it("revokes the app's tokens a signed report names and answers one verdict per match, hashed", async () => {
      const handle = githubSecretScanning({ tokens: app.tokens, keys, fetch: () => Promise.reject(new Error("no network")) })
      const owner = await user()
      const [ours, alreadyRevoked, unreported] = await Promise.all([0, 1, 2].map(async () => Redacted.value((await app.tokens.create({ userId: owner, name: "t" })).token)))
      await app.tokens.revokeLeaked(alreadyRevoked!)
      // A token minted before the app chose its prefix (sk_live_, still accepted as legacy).
      const before = createAuthSession(setup.auth, { database: { url: db.url } })
      const legacy = Redacted.value((await before.tokens.create({ userId: owner, name: "legacy" })).token)
      await before.dispose()

      const stranger = `acme_${"Z".repeat(32)}`
      const wrongChecksum = ours!.slice(0, -1) + (ours!.endsWith("A") ? "B" : "A")
      const report = [
        match(ours!, `https://github.com/octo/repo/blob/abc/.env?leak=${ours}`),
        match(legacy, "https://gist.github.com/octo/1"),
        match(alreadyRevoked!),
        match(wrongChecksum),
        match(stranger + "abcdef"),
        match("not a token at all"),
        { ...match(ours!), source: "commit\u0000\u2028evil" }
      ]
      const body = JSON.stringify(report)
      const response = await handle(alert(body))
      assert.strictEqual(response.status, 200)
      const text = await response.text()
      assert.deepStrictEqual(JSON.parse(text), report.map((m, i) => ({
        token_hash: sha256(m.token),
        token_type: "acme_api_token",
        label: [0, 1, 2, 6].includes(i) ? "true_positive" : "false_positive"
      })))
      for (const m of report) assert.notInclude(text, m.token)

      assert.isFalse(await live(ours!))
      assert.isFalse(await live(legacy))
      assert.isTrue(await live(unreported!))
      const events = (await app.audit.list({ userId: owner })).filter((e) => e.action === "token.revoked_leaked")
      const byGitHub = events.filter((e) => e.actorId === "github-secret-scanning")
      assert.strictEqual(byGitHub.length, 2, "one event per token revoked now; none for one already revoked")
      assert.deepStrictEqual(byGitHub.map((e) => e.detail!.replace(/^"\w+" \S+ /, "")).sort(), [
        "reported by GitHub secret scanning: content https://gist.github.com/octo/1",
        `reported by GitHub secret scanning: content https://github.com/octo/repo/blob/abc/.env?leak=acme_…${ours!.slice(-4)}`
      ])
      for (const event of events) for (const value of [ours!, legacy]) assert.notInclude(event.detail ?? "", value)
    })

    it("refuses 62 hostile requests with no side effect: unsigned, mis-signed, replayed, oversized, malformed", async () => {
      const max = 64 * 1024
      const handle = githubSecretScanning({ tokens: app.tokens, keys, maxBodyBytes: max })
      const owner = await user()
      const tokens = await Promise.all([0, 1, 2].map(async () => Redacted.value((await app.tokens.create({ userId: owner, name: "target" })).token)))
      const good = JSON.stringify(tokens.map((t) => match(t)))
      const before = await app.audit.list({ userId: owner })
      const other = pair()
      const der = Buffer.from(signed(good), "base64")
      const flipped = Buffer.from(der)
      flipped[flipped.length - 5]! ^= 0x01
      const p1363 = sign("sha256", Buffer.from(good), { key: github.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64")
      const signedMalformed = (body: string | Uint8Array) => alert(body)
      const streamed = (size: number) => {
        const chunk = new TextEncoder().encode(" ".repeat(1024))
        let sent = 0
        const body = new ReadableStream<Uint8Array>({
          pull: (controller) => {
            if (sent >= size) return controller.close()
            controller.enqueue(chunk)
            sent += chunk.length
          }
        })
        return new Request("https://app.example/hook", {
          method: "POST",
          body,
          duplex: "half",
          headers: { "github-public-key-identifier": KEY_ID, "github-public-key-signature": signed(good) }
        } as RequestInit)
      }

      const hostile: ReadonlyArray<readonly [string, number, () => Request]> = [
        ["no headers", 401, () => alert(good, { "github-public-key-identifier": undefined, "github-public-key-signature": undefined })],
        ["no key id", 401, () => alert(good, { "github-public-key-identifier": undefined })],
        ["no signature", 401, () => alert(good, { "github-public-key-signature": undefined })],
        ["empty key id", 401, () => alert(good, { "github-public-key-identifier": "" })],
        ["empty signature", 401, () => alert(good, { "github-public-key-signature": "" })],
        ["key id with a path", 401, () => alert(good, { "github-public-key-identifier": "../../etc/passwd" })],
        ["key id too long", 401, () => alert(good, { "github-public-key-identifier": "a".repeat(129) })],
        ["unknown key id", 401, () => alert(good, { "github-public-key-identifier": "f".repeat(64) })],
        ["signature not base64", 401, () => alert(good, { "github-public-key-signature": "not base64 at all!!" })],
        ["signature too short", 401, () => alert(good, { "github-public-key-signature": "MEUCIQ==" })],
        ["signature too long", 401, () => alert(good, { "github-public-key-signature": "A".repeat(400) })],
        ["signed by another key", 401, () => alert(good, { "github-public-key-signature": signed(good, other.privateKey) })],
        ["signature of another body", 401, () => alert(good, { "github-public-key-signature": signed("[]") })],
        ["a byte appended after signing", 401, () => alert(good + " ", { "github-public-key-signature": signed(good) })],
        ["a token changed after signing", 401, () => alert(good.replace(tokens[0]!, tokens[1]!), { "github-public-key-signature": signed(good) })],
        ["re-serialised JSON", 401, () => alert(JSON.stringify(JSON.parse(good), null, 1), { "github-public-key-signature": signed(good) })],
        ["a trailing newline", 401, () => alert(good + "\n", { "github-public-key-signature": signed(good) })],
        ["a flipped signature bit", 401, () => alert(good, { "github-public-key-signature": flipped.toString("base64") })],
        ["a truncated signature", 401, () => alert(good, { "github-public-key-signature": der.subarray(0, der.length - 4).toString("base64") })],
        ["an r||s signature, not DER", 401, () => alert(good, { "github-public-key-signature": p1363 })],
        ["signature of the body's SHA-256", 401, () => alert(good, { "github-public-key-signature": signed(sha256(good)) })],
        ["the key id of another key", 401, () => alert(good, { "github-public-key-identifier": KEY_ID.toUpperCase() })],
        ["GET", 405, () => alert(good, {}, "GET")],
        ["PUT", 405, () => alert(good, {}, "PUT")],
        ["DELETE", 405, () => alert(good, {}, "DELETE")],
        ["PATCH", 405, () => alert(good, {}, "PATCH")],
        ["a signature of zeros", 401, () => alert(good, { "github-public-key-signature": "A".repeat(96) })],
        ["declared too large", 413, () => alert(good, { "content-length": String(max + 1) })],
        ["declared length not a number", 413, () => alert(good, { "content-length": "lots" })],
        ["signed but too large", 413, () => signedMalformed(JSON.stringify([...tokens, "x".repeat(1000), ...Array.from({ length: 70 }, () => "y".repeat(1000))].map((t) => match(t))))],
        ["streamed past the limit", 413, () => streamed(max * 4)],
        ["not JSON", 400, () => signedMalformed("this is not json")],
        ["truncated JSON", 400, () => signedMalformed(good.slice(0, -1))],
        ["a JSON object", 400, () => signedMalformed(JSON.stringify(match(tokens[0]!)))],
        ["null", 400, () => signedMalformed("null")],
        ["a number", 400, () => signedMalformed("42")],
        ["an empty array", 400, () => signedMalformed("[]")],
        ["an array of strings", 400, () => signedMalformed(JSON.stringify(tokens))],
        ["an array of arrays", 400, () => signedMalformed(JSON.stringify([tokens]))],
        ["an array with null", 400, () => signedMalformed(JSON.stringify([match(tokens[0]!), null]))],
        ["no token", 400, () => signedMalformed(JSON.stringify([{ type: "t", url: "", source: "content" }, match(tokens[1]!)]))],
        ["a numeric token", 400, () => signedMalformed(JSON.stringify([{ ...match(tokens[0]!), token: 42 }]))],
        ["a token in an array", 400, () => signedMalformed(JSON.stringify([{ ...match(tokens[0]!), token: [tokens[0]] }]))],
        ["no type", 400, () => signedMalformed(JSON.stringify([{ token: tokens[0], url: "", source: "content" }]))],
        ["no url", 400, () => signedMalformed(JSON.stringify([{ token: tokens[0], type: "t", source: "content" }]))],
        ["no source", 400, () => signedMalformed(JSON.stringify([{ token: tokens[0], type: "t", url: "" }]))],
        ["an object source", 400, () => signedMalformed(JSON.stringify([{ ...match(tokens[0]!), source: { toString: "content" } }]))],
        ["a numeric url", 400, () => signedMalformed(JSON.stringify([{ ...match(tokens[0]!), url: 1 }]))],
        ["a token too long", 400, () => signedMalformed(JSON.stringify([match(tokens[0]!), match("a".repeat(1025))]))],
        ["a type too long", 400, () => signedMalformed(JSON.stringify([{ ...match(tokens[0]!), type: "t".repeat(257) }]))],
        ["a url too long", 400, () => signedMalformed(JSON.stringify([{ ...match(tokens[0]!), url: "u".repeat(4097) }]))],
        ["invalid UTF-8", 400, () => signedMalformed(Buffer.concat([Buffer.from(`[{"token":"${tokens[0]}","type":"`), Buffer.from([0xff, 0xfe]), Buffer.from(`","url":"","source":"x"}]`)]))],
        ["trailing garbage", 400, () => signedMalformed(good + "x")],
        ["an empty body", 400, () => signedMalformed("")],
        ["whitespace only", 400, () => signedMalformed("   ")],
        ["two JSON documents", 400, () => signedMalformed(good + good)],
        ["a JSON string", 400, () => signedMalformed(JSON.stringify(good))],
        ["a prototype key", 400, () => signedMalformed(`[{"__proto__":{"token":"${tokens[0]}"},"type":"t","url":"","source":"s"}]`)],
        ["1,001 matches", 400, () => signedMalformed(JSON.stringify(Array.from({ length: 1001 }, () => ({ token: "", type: "", url: "", source: "" }))))]
      ]
      const statuses: Array<[string, number]> = []
      for (const [name, , make] of hostile) statuses.push([name, (await handle(make())).status])
      assert.deepStrictEqual(JSON.stringify(statuses.filter(([name, status]) => hostile.find(([n]) => n === name)![1] !== status)), "[]")

      // Replays: the same signed body again, even re-signed (ECDSA signatures differ each time), is refused.
      assert.strictEqual((await handle(alert(good))).status, 200)
      const replays = [alert(good), alert(good, { "github-public-key-signature": signed(good) }), alert(good)]
      for (const replay of replays) assert.strictEqual((await handle(replay)).status, 409)
      assert.strictEqual(hostile.length + replays.length, 62)

      // Only the genuine report changed anything: its three tokens, each recorded once.
      for (const t of tokens) assert.isFalse(await live(t))
      const after = (await app.audit.list({ userId: owner })).filter((e) => !before.some((b) => b.id === e.id))
      assert.deepStrictEqual(after.map((e) => e.action), ["token.revoked_leaked", "token.revoked_leaked", "token.revoked_leaked"])
    })

    it("a hostile report is refused before anything is revoked: the tokens it names stay live", async () => {
      const handle = githubSecretScanning({ tokens: app.tokens, keys })
      const owner = await user()
      const target = Redacted.value((await app.tokens.create({ userId: owner, name: "target" })).token)
      const body = JSON.stringify([match(target), { token: 1 }])
      assert.strictEqual((await handle(alert(body))).status, 400)
      assert.strictEqual((await handle(alert(JSON.stringify([match(target)]), { "github-public-key-signature": signed("x") }))).status, 401)
      assert.isTrue(await live(target))
      assert.deepStrictEqual((await app.audit.list({ userId: owner })).map((e) => e.action), ["token.created"])
    })

    it("fetches GitHub's key list through the given fetch, once, caches it, and refuses when it cannot be had", async () => {
      const calls: Array<{ url: string; authorization: string | null }> = []
      let available = true
      const fetch = async (url: string, init: RequestInit) => {
        calls.push({ url, authorization: new Headers(init.headers).get("authorization") })
        if (!available) return new Response("rate limited", { status: 403 })
        return Response.json({ public_keys: [...keys.map((k) => ({ ...k, is_current: true })), { key_identifier: "broken", key: "not a pem" }] })
      }
      const handle = githubSecretScanning({ tokens: app.tokens, fetch, githubToken: "ghp_example" })
      const owner = await user()
      const made = await Promise.all([0, 1].map(async () => Redacted.value((await app.tokens.create({ userId: owner, name: "t" })).token)))
      for (const t of made) assert.strictEqual((await handle(alert(JSON.stringify([match(t)])))).status, 200)
      assert.deepStrictEqual(calls, [{ url: "https://api.github.com/meta/public_keys/secret_scanning", authorization: "Bearer ghp_example" }])
      // An unknown key id refetches at most once a minute; a key that is not a P-256 PEM is never used.
      for (const id of ["f".repeat(64), "e".repeat(64), "broken"]) {
        assert.strictEqual((await handle(alert("[]", { "github-public-key-identifier": id }))).status, 401)
      }
      assert.strictEqual(calls.length, 1)

      available = false
      const cold = githubSecretScanning({ tokens: app.tokens, fetch })
      const target = Redacted.value((await app.tokens.create({ userId: owner, name: "t" })).token)
      const refused = await cold(alert(JSON.stringify([match(target)])))
      assert.deepStrictEqual([refused.status, refused.headers.get("retry-after")], [503, "60"])
      assert.isTrue(await live(target))
    })
  })
}
