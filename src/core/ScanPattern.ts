/**
 * Secret-scanner patterns for the app's tokens: a gitleaks rule (TOML) and a GitHub custom
 * secret-scanning pattern. Pure: built from the token format alone.
 *
 * The expressions use only syntax that RE2 (gitleaks), Hyperscan (GitHub) and JavaScript read
 * alike: no lookaround; `\b`, `^` and `$`. They match an accepted prefix, then exactly 38 base62
 * characters, not glued to a word character (`[0-9A-Za-z_]`) on either side: what
 * `ApiToken.find` reads as a token, less the checksum. A regular expression cannot
 * check the CRC32 checksum: a value with a wrong checksum matches, and is refused by
 * `ApiToken.find`, by the server, and by the GitHub alert handler (labelled `false_positive`).
 */
import { BODY_LENGTH, type Format } from "./ApiToken.ts"

export interface ScanPatterns {
  readonly prefixes: ReadonlyArray<string>
  readonly gitleaks: {
    readonly id: string
    readonly description: string
    /** The whole match is the token. */
    readonly regex: string
    readonly keywords: ReadonlyArray<string>
    /** The rule as it goes into `.gitleaks.toml`. */
    readonly toml: string
  }
  readonly github: {
    readonly name: string
    /** GitHub's "Secret format" field. */
    readonly secretFormat: string
    /** GitHub's "Before secret" field. */
    readonly beforeSecret: string
    /** GitHub's "After secret" field. */
    readonly afterSecret: string
  }
}

/** The patterns for every prefix `format` accepts (its own and the legacy ones). */
export const scanPatterns = (format: Format): ScanPatterns => {
  const prefixes = format.prefixes
  const secret = `(?:${prefixes.join("|")})[0-9A-Za-z]{${BODY_LENGTH}}`
  const before = "^|[^0-9A-Za-z_]"
  const after = "$|[^0-9A-Za-z_]"
  const regex = `\\b${secret}\\b`
  const id = `fusion-auth-${format.prefix.replace(/_+$/, "").replaceAll("_", "-")}-token`
  const description = `fusion-auth API token (${prefixes.join(", ")})`
  const keywords = prefixes
  const toml = [
    "[[rules]]",
    `id = "${id}"`,
    `description = "${description}"`,
    `regex = '''${regex}'''`,
    `keywords = [${keywords.map((k) => `"${k}"`).join(", ")}]`
  ].join("\n")
  return {
    prefixes,
    gitleaks: { id, description, regex, keywords, toml },
    github: { name: description, secretFormat: secret, beforeSecret: before, afterSecret: after }
  }
}

/** The patterns as an operator reads and copies them. */
export const describePatterns = (patterns: ScanPatterns): ReadonlyArray<string> => [
  "# gitleaks: add this rule to .gitleaks.toml (with [extend] useDefault = true to keep the built-in rules)",
  patterns.gitleaks.toml,
  "",
  "# GitHub custom secret-scanning pattern: Settings > Advanced Security > Custom patterns > New pattern",
  `Pattern name:  ${patterns.github.name}`,
  `Secret format: ${patterns.github.secretFormat}`,
  `Before secret: ${patterns.github.beforeSecret}`,
  `After secret:  ${patterns.github.afterSecret}`,
  "",
  "# A regular expression cannot check the checksum: a match with a wrong one is refused by",
  "# `fusion-auth tokens revoke --leaked`, the server and the GitHub alert handler."
]
