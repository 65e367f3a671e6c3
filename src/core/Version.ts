/**
 * This release's version, as package.json names it (test/layout.test.ts holds the two
 * together): what the CLI's `--version` prints, and what an app's server bundle checks the
 * installed package against before it runs that package's code (`EmbeddedUpgrade`).
 */
export const VERSION = "0.1.0"
