/**
 * GitHub's secret-scanning partner alerts as a request handler, `(request) => Promise<Response>`,
 * for a TanStack Start server route or any fetch server. For each token GitHub reports that is
 * one of the app's, it revokes it (`tokens.revokeLeaked`), recording where it was found; it
 * answers one verdict per match (`true_positive` or `false_positive`, the token SHA-256 hashed).
 *
 * In order, and with no side effect before the last step: POST only; the key id and signature
 * headers present and well-formed (401); the body at most `maxBodyBytes`, read bounded (413);
 * the key known (401; GitHub's list is fetched only when no keys are passed, then cached) and
 * the signature verified over the raw bytes (401); the same body not seen within the replay
 * window (409); the report parsed (400); then the revocations.
 */
import { Duration, Option, Redacted, Schema } from "effect"
import type { KeyObject } from "node:crypto"
import * as GitHubAlert from "../core/GitHubAlert.ts"
import { InvalidTokenInput, TokenNotFound } from "../core/Errors.ts"

export interface GitHubSecretScanningOptions {
  /** The app's tokens: `createAuthSession(auth).tokens`. */
  readonly tokens: {
    revokeLeaked(token: string, actorId?: string, note?: string): Promise<unknown>
  }
  /** GitHub's public keys (`{ key_identifier, key }`, PEM). Absent: fetched from GitHub's list and cached. */
  readonly keys?: ReadonlyArray<GitHubAlert.PublicKey> | undefined
  /** Fetches GitHub's key list (default: the global `fetch`). Never called when `keys` are given. */
  readonly fetch?: ((url: string, init: RequestInit) => Promise<Response>) | undefined
  /** A GitHub token for the key list's rate limit (no scopes needed). */
  readonly githubToken?: string | Redacted.Redacted<string> | undefined
  /** Largest body read; default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** How long a body already handled is refused as a replay; default 24 hours. */
  readonly replayWindow?: Duration.Input | undefined
  /** Most bodies remembered for replay; default 10,000 (the oldest are forgotten first). */
  readonly maxRemembered?: number | undefined
  /** The audit trail's actor; default `github-secret-scanning`. */
  readonly actorId?: string | undefined
}

const KEYS_TTL = 60 * 60_000
const REFETCH_AFTER = 60_000

const refuse = (status: number, error: string, headers: Record<string, string> = {}) =>
  Response.json({ error }, { status, headers: { "cache-control": "no-store", ...headers } })

/** The body, or `undefined` when it is longer than `max` bytes (stops reading there). */
const readBounded = async (request: Request, max: number): Promise<Uint8Array | undefined> => {
  const declared = Number(request.headers.get("content-length") ?? "0")
  if (!(declared <= max)) return undefined
  if (request.body === null) return new Uint8Array()
  const chunks: Array<Uint8Array> = []
  let size = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max) {
      await reader.cancel().catch(() => undefined)
      return undefined
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

/** GitHub's keys: the ones given, or the published list, cached; an unknown id refetches at most once a minute. */
const keyring = (options: GitHubSecretScanningOptions) => {
  const toMap = (keys: ReadonlyArray<GitHubAlert.PublicKey>) =>
    new Map(keys.flatMap((k) => {
      const key = GitHubAlert.publicKey(k.key)
      return key === undefined ? [] : [[k.key_identifier, key] as const]
    }))
  if (options.keys !== undefined) {
    const given = toMap(options.keys)
    return (id: string) => Promise.resolve(given.get(id))
  }
  const fetchList = options.fetch ?? ((url, init) => globalThis.fetch(url, init))
  let cached: { keys: Map<string, KeyObject>; at: number } | undefined
  let pending: Promise<void> | undefined
  const refresh = () =>
    pending ??= (async () => {
      const token = options.githubToken === undefined ? undefined : Redacted.isRedacted(options.githubToken) ? Redacted.value(options.githubToken) : options.githubToken
      const response = await fetchList(GitHubAlert.KEYS_URL, {
        headers: { accept: "application/json", ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }
      })
      if (!response.ok) throw new Error(`GitHub's key list answered ${response.status}`)
      const list = Schema.decodeUnknownSync(GitHubAlert.KeyList)(await response.json())
      cached = { keys: toMap(list.public_keys), at: Date.now() }
    })().finally(() => (pending = undefined))
  return async (id: string): Promise<KeyObject | undefined> => {
    const age = cached === undefined ? Infinity : Date.now() - cached.at
    if (age > KEYS_TTL || (!cached!.keys.has(id) && age > REFETCH_AFTER)) await refresh()
    return cached?.keys.get(id)
  }
}

/** Bodies handled (or being handled) lately, by digest; bounded in time and in count. */
const replays = (window: number, max: number) => {
  const seen = new Map<string, number>()
  return {
    /** False when the digest was seen within the window; otherwise remembers it. */
    claim: (digest: string, now: number): boolean => {
      for (const [key, at] of seen) {
        if (now - at < window && seen.size < max) break
        seen.delete(key) // oldest first: expired, or over the bound
      }
      if (seen.has(digest)) return false
      seen.set(digest, now)
      return true
    },
    release: (digest: string) => void seen.delete(digest)
  }
}

export const githubSecretScanning = (options: GitHubSecretScanningOptions): (request: Request) => Promise<Response> => {
  const maxBody = options.maxBodyBytes ?? 1024 * 1024
  const keyFor = keyring(options)
  const seen = replays(Duration.toMillis(Duration.fromInputUnsafe(options.replayWindow ?? "24 hours")), options.maxRemembered ?? 10_000)
  const actor = options.actorId ?? "github-secret-scanning"
  const decode = Schema.decodeUnknownOption(GitHubAlert.Report)

  /** True when the token is one of the app's (revoked now, or already); false when it is not. */
  const revoke = async (match: GitHubAlert.Match): Promise<boolean> => {
    try {
      await options.tokens.revokeLeaked(match.token, actor, GitHubAlert.whereFound(match))
      return true
    } catch (error) {
      if (error instanceof InvalidTokenInput || error instanceof TokenNotFound) return false
      throw error
    }
  }

  return async (request) => {
    if (request.method !== "POST") return refuse(405, "method_not_allowed", { allow: "POST" })
    const keyId = request.headers.get("github-public-key-identifier")
    const signature = request.headers.get("github-public-key-signature")
    if (keyId === null || signature === null || !GitHubAlert.KEY_ID.test(keyId) || !GitHubAlert.SIGNATURE.test(signature)) {
      return refuse(401, "invalid_signature")
    }
    const body = await readBounded(request, maxBody)
    if (body === undefined) return refuse(413, "too_large")
    let key: KeyObject | undefined
    try {
      key = await keyFor(keyId)
    } catch {
      return refuse(503, "keys_unavailable", { "retry-after": "60" })
    }
    if (key === undefined || !GitHubAlert.verifySignature(body, signature, key)) return refuse(401, "invalid_signature")
    const digest = GitHubAlert.bodyDigest(body)
    if (!seen.claim(digest, Date.now())) return refuse(409, "replayed")
    let report: Option.Option<typeof GitHubAlert.Report.Type>
    try {
      report = decode(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)))
    } catch {
      report = Option.none()
    }
    if (Option.isNone(report)) return refuse(400, "malformed")
    try {
      const verdicts: Array<GitHubAlert.Verdict> = []
      for (const match of report.value) verdicts.push(GitHubAlert.verdict(match, await revoke(match)))
      return Response.json(verdicts, { headers: { "cache-control": "no-store" } })
    } catch (error) {
      seen.release(digest) // not handled: GitHub's retry of the same body is served
      throw error
    }
  }
}
