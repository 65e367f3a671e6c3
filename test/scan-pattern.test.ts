/**
 * `fusion-auth scan-pattern`, run as a subprocess: the regular expressions it prints, copied out
 * of its output the way an operator would, match every generated token and no near miss. A
 * regular expression cannot check a CRC32: a wrong checksum matches the pattern, and this
 * suite shows that it is `ApiToken.find` (and so the server and the alert handler) that refuses it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { ApiToken } from "../src/effect.ts"
import { fusionAuth } from "./support/cli.ts"

const TOKENS = 200

interface Printed {
  readonly gitleaks: RegExp
  readonly github: RegExp
}

/** The patterns as copied from the printed text: the TOML `regex` line and GitHub's three fields. */
const copied = (stdout: string): Printed => {
  const gitleaks = /^regex = '''(.+)'''$/m.exec(stdout)?.[1]
  const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)$`, "m").exec(stdout)?.[1]
  const [secret, before, after] = [field("Secret format"), field("Before secret"), field("After secret")]
  assert.isDefined(gitleaks, stdout)
  assert.isDefined(secret, stdout)
  // GitHub looks for the secret format between the "before" and "after" expressions.
  return { gitleaks: new RegExp(gitleaks!, "g"), github: new RegExp(`(?:${before})(${secret})(?:${after})`, "g") }
}

/** What each printed pattern reports in a text: the gitleaks match, GitHub's secret group. */
const matches = (printed: Printed, text: string) => ({
  gitleaks: [...text.matchAll(printed.gitleaks)].map((m) => m[0]),
  github: [...text.matchAll(printed.github)].map((m) => m[1]!)
})

const CONTEXTS: ReadonlyArray<(token: string) => string> = [
  (t) => t,
  (t) => `export API_TOKEN=${t}\n`,
  (t) => `{"token":"${t}","ok":true}`,
  (t) => `curl -H "Authorization: Bearer ${t}" https://app.example`,
  (t) => `  - '${t}',`,
  (t) => `https://app.example/hook?token=${t}&next=1`
]

const otherChar = (c: string) => (c === "A" ? "B" : "A")

/** Values a scanner must not report: each is not a token of `prefixes`, by its shape alone. */
const nearMisses = (token: string, prefix: string): ReadonlyArray<readonly [string, string]> => {
  const body = token.slice(prefix.length)
  return [
    ["truncated", token.slice(0, -1)],
    ["truncated in the body", prefix + body.slice(0, 20)],
    ["extended", `${token}a`],
    ["another prefix", `sk_test_${body}`],
    ["another prefix", `rk_live_${body}`],
    ["upper-case prefix", prefix.toUpperCase() + body],
    ["a hyphen for the underscore", prefix.replace(/_$/, "-") + body],
    ["glued to a word before", `x${token}`],
    ["glued to a word after", `${token}_x`],
    ["a character outside base62", `${token.slice(0, prefix.length + 17)}-${token.slice(prefix.length + 18)}`],
    ["a non-ASCII letter", `${token.slice(0, prefix.length + 10)}é${token.slice(prefix.length + 11)}`]
  ]
}

const check = (printed: Printed, format: ApiToken.Format, others: ReadonlyArray<ApiToken.Format> = []) => {
  const counts = { tokens: 0, matched: 0, nearMisses: 0, wrongChecksums: 0 }
  for (const minting of [format, ...others]) {
    for (let i = 0; i < TOKENS; i++) {
      const token = Redacted.value(minting.generate())
      const prefix = token.slice(0, token.length - ApiToken.BODY_LENGTH)
      counts.tokens++
      for (const context of CONTEXTS) {
        assert.deepStrictEqual(matches(printed, context(token)), { gitleaks: [token], github: [token] }, context(token))
        counts.matched++
      }
      // Every token of a document at once, one a line: none is lost to its neighbour.
      const document = CONTEXTS.map((context) => context(token)).join("\n")
      assert.strictEqual(matches(printed, document).gitleaks.length, CONTEXTS.length)
      for (const [kind, miss] of nearMisses(token, prefix)) {
        assert.deepStrictEqual(matches(printed, `value: ${miss};`), { gitleaks: [], github: [] }, `${kind}: ${miss}`)
        counts.nearMisses++
      }
      // A wrong checksum has a token's shape: the pattern reports it, the checksum refuses it.
      const last = token.at(-1)!
      const wrong = token.slice(0, -1) + otherChar(last)
      assert.deepStrictEqual(matches(printed, wrong), { gitleaks: [wrong], github: [wrong] })
      assert.deepStrictEqual(format.find(` ${wrong} `), [])
      assert.isUndefined(format.parse(wrong))
      counts.wrongChecksums++
    }
  }
  return counts
}

describe("fusion-auth scan-pattern", () => {
  it("--prefix acme_: the printed gitleaks and GitHub patterns match every acme_ token and no near miss", async () => {
    const run = await fusionAuth(["scan-pattern", "--prefix", "acme_"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, `id = "fusion-auth-acme-token"`)
    const printed = copied(run.stdout)
    const acme = ApiToken.format("acme_")
    const counts = check(printed, acme)
    assert.deepStrictEqual(counts, { tokens: TOKENS, matched: TOKENS * CONTEXTS.length, nearMisses: TOKENS * 11, wrongChecksums: TOKENS })
    // Stripe's and the default prefix are another prefix: never reported as the app's.
    const stripe = Redacted.value(ApiToken.generate())
    assert.deepStrictEqual(matches(printed, stripe), { gitleaks: [], github: [] })
  })

  it("FUSION_AUTH_TOKEN_PREFIX with a legacy prefix: the patterns cover both prefixes, as the app accepts both", async () => {
    const run = await fusionAuth(["scan-pattern"], {
      env: { FUSION_AUTH_TOKEN_PREFIX: "acme_live_", FUSION_AUTH_TOKEN_LEGACY_PREFIXES: "sk_live_" }
    })
    assert.strictEqual(run.code, 0, run.stderr)
    const moved = ApiToken.format("acme_live_", ["sk_live_"])
    const counts = check(copied(run.stdout), moved, [ApiToken.DEFAULT])
    assert.strictEqual(counts.tokens, 2 * TOKENS)
    assert.strictEqual(counts.matched, 2 * TOKENS * CONTEXTS.length)
  })

  it("the default prefix, and --json printing the same expressions as data", async () => {
    const [text, json] = await Promise.all([fusionAuth(["scan-pattern"]), fusionAuth(["--json", "scan-pattern"])])
    assert.strictEqual(json.code, 0, json.stderr)
    const data = JSON.parse(json.stdout) as {
      prefixes: Array<string>
      gitleaks: { regex: string; toml: string; keywords: Array<string> }
      github: { secretFormat: string; beforeSecret: string; afterSecret: string }
    }
    assert.deepStrictEqual(data.prefixes, ["sk_live_"])
    assert.deepStrictEqual(data.gitleaks.keywords, ["sk_live_"])
    assert.include(text.stdout, data.gitleaks.toml)
    const fromJson: Printed = {
      gitleaks: new RegExp(data.gitleaks.regex, "g"),
      github: new RegExp(`(?:${data.github.beforeSecret})(${data.github.secretFormat})(?:${data.github.afterSecret})`, "g")
    }
    assert.deepStrictEqual([fromJson.gitleaks.source, fromJson.github.source], [copied(text.stdout).gitleaks.source, copied(text.stdout).github.source])
    check(fromJson, ApiToken.DEFAULT)
  })

  it("refuses an ambiguous prefix with one line and exit code 2, from the flag or the environment", async () => {
    for (const [args, env, problem] of [
      [["scan-pattern", "--prefix", "acme"], {}, `token prefix "acme" must end with "_"`],
      [["scan-pattern"], { FUSION_AUTH_TOKEN_PREFIX: "Acme_" }, `token prefix "Acme_" must be lower-case`],
      [["scan-pattern", "--prefix", "acme_"], { FUSION_AUTH_TOKEN_LEGACY_PREFIXES: "acme_" }, `token prefix "acme_" is given twice`]
    ] as const) {
      const run = await fusionAuth(args, { env })
      assert.strictEqual(run.code, 2, run.stderr)
      assert.strictEqual(run.stdout, "")
      const lines = run.stderr.trim().split("\n")
      assert.strictEqual(lines.length, 1, run.stderr)
      assert.include(lines[0], `fusion-auth: ${problem}`)
    }
  })
})
