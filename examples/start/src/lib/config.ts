/**
 * Where the example keeps its state, read once from the environment.
 *
 * - `DATABASE_URL`: a Postgres server; unset, fusion-auth's embedded PGlite in its default
 *   folder, `.data/fusion-auth` (or `FUSION_AUTH_DATA_DIR`), which the CLI reaches too.
 * - `DATA_DIR`: the app's own state, default `.data/example-start` (git-ignored).
 * - `BETTER_AUTH_SECRET`: unset, a random one is made on first start and kept in `DATA_DIR`,
 *   so sessions survive a restart without a secret to set up.
 * - `BETTER_AUTH_URL`: the app's public address; unset, any port on localhost or 127.0.0.1.
 * - `AUTH_RATE_LIMIT=off`: Better Auth's own limiter off (in production it allows 100 requests
 *   per 10 s per address on each of its routes). For the HTTP benchmark only.
 * - `REDIS_URL`: a Redis server (`redis://host:port[/db]`) for Better Auth's `secondaryStorage`
 *   (storage.ts): sessions then live in Redis; unset, in the database. `REDIS_KEY_PREFIX`
 *   (default `fusion-auth-example:`) starts every key the app writes there.
 * - `GITHUB_SECRET_SCANNING_KEYS`: GitHub's secret-scanning key list as JSON (`{"public_keys": […]}`);
 *   unset, the alert route fetches it from GitHub and caches it.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

export const dataDir = resolve(process.env.DATA_DIR ?? join(".data", "example-start"))

/** True when the app runs on the embedded database rather than `DATABASE_URL`. */
export const embedded = (process.env.DATABASE_URL ?? "") === ""

const readOrCreateSecret = (): string => {
  const file = join(dataDir, "auth-secret")
  try {
    return readFileSync(file, "utf8").trim()
  } catch {
    mkdirSync(dataDir, { recursive: true })
    const secret = randomBytes(32).toString("base64url")
    writeFileSync(file, secret, { mode: 0o600, flag: "wx" })
    return secret
  }
}

export const authSecret = (): string => process.env.BETTER_AUTH_SECRET || readOrCreateSecret()

export const baseURL = process.env.BETTER_AUTH_URL || {
  allowedHosts: ["localhost:*", "127.0.0.1:*"],
  protocol: "http" as const
}

export const rateLimitOff = process.env.AUTH_RATE_LIMIT === "off"

/** Better Auth's `secondaryStorage` on Redis, when `REDIS_URL` is set. */
export const redis: { readonly url: string; readonly prefix: string } | undefined = process.env.REDIS_URL
  ? { url: process.env.REDIS_URL, prefix: process.env.REDIS_KEY_PREFIX ?? "fusion-auth-example:" }
  : undefined
/** GitHub's keys for the alert route, when the environment gives them (tests do); otherwise fetched. */
export const githubKeys: ReadonlyArray<{ key_identifier: string; key: string }> | undefined = process.env.GITHUB_SECRET_SCANNING_KEYS
  ? (JSON.parse(process.env.GITHUB_SECRET_SCANNING_KEYS) as { public_keys: Array<{ key_identifier: string; key: string }> }).public_keys
  : undefined
