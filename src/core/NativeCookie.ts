/**
 * When fusion-auth answers Better Auth's cookie itself, and when it hands the request to
 * `auth.api.getSession`: decided once from Better Auth's own context (`await auth.$context`).
 *
 * The native path owns exactly this: a signed `session_token` cookie, verified with
 * `ctx.secret` under `ctx.authCookies` names, and one statement over Better Auth's `session`
 * and `user` tables as `ctx.tables` names them. Everything that could make Better Auth's
 * answer differ (a refresh due, secondary storage, hooks, a plugin not known to leave
 * `/get-session` alone, another adapter, a field type the driver reads differently, a minor
 * not seen yet) is handed over; what is not recognised is handed over, never guessed. What
 * the path relies on in Better Auth's behaviour is then checked, not assumed from a version:
 * see `services/NativeProbe.ts`.
 */
import { Redacted } from "effect"
import { type Column, tableOf } from "./UserModel.ts"

/**
 * The Better Auth releases whose code fusion-auth has read: every 1.7 patch. Within them, the
 * start-up probe (`services/NativeProbe.ts`) checks the behaviour the native path relies on;
 * a minor or major not seen yet (1.8, 2.0) or a prerelease is handed over whatever it does.
 */
export const SEEN = { major: 1, minor: 7, text: "1.7.x" } as const
/**
 * Plugins verified not to change `/get-session`'s answer when no refresh or delete is due:
 * their `onRequest` runs only in `auth.handler`, and what their `init` adds (password checks,
 * social providers, hooks on a session's update or delete) is not read by a `/get-session`
 * that neither refreshes nor deletes. Each says what its hooks do there: `none` match a call
 * that neither refreshes nor deletes (the OAuth provider's after-hook matches a response that
 * sets the session cookie: a refresh, handed over), as `decide` asks again at start-up, so a
 * later patch that adds one is handed over; or they only add response headers
 * (`set-auth-jwt`, `set-auth-token`, cookies forwarded); or, fusion-auth's own, they refuse a
 * locked-out user as the native path does; or, `api-key`'s, they match only as the app
 * configures them (with `enableSessionForAPIKeys`, a key in the request's headers answers
 * `/get-session` instead of the cookie): asked the same way, and handed over when they do.
 * Left off: `customSession` (replaces the answer).
 */
export const ALLOWED_PLUGINS: ReadonlyMap<string, "none" | "headers" | "lock-out" | "as-configured"> = new Map([
  ["fusion-auth", "lock-out"],
  ["api-key", "as-configured"],
  ...(["tanstack-start-cookies", "multi-session", "jwt", "bearer", "last-login-method", "one-time-token"] as const).map((id) => [id, "headers"] as const),
  ...([
    "admin", "organization", "two-factor", "username", "anonymous", "magic-link", "email-otp", "phone-number", "open-api", "scim",
    "passkey", "sso", "oauth-provider", "device-authorization", "one-tap", "siwe", "oauth-proxy", "oauth-popup", "generic-oauth",
    "have-i-been-pwned", "captcha", "expo", "stripe"
  ] as const).map((id) => [id, "none"] as const)
])

interface PluginLike {
  readonly id?: string
  readonly version?: unknown
  readonly endpoints?: Record<string, { path?: string }>
  readonly hooks?: Partial<Record<"before" | "after", ReadonlyArray<{ readonly matcher?: (context: unknown) => unknown }>>>
}

/** A request's headers that refuse to be read: a matcher that reads them decides by the request, and so may match it. */
const UNREADABLE_HEADERS = new Proxy({}, {
  get: () => {
    throw new Error("a matcher read the request's headers")
  }
})

/**
 * Whether one of `plugin`'s hooks could run for fusion-auth's own call, `getSession({ headers,
 * query: { disableCookieCache: true } })` with a request's headers: its matchers asked with
 * what Better Auth's dispatch gives them for that call (a copy of the context, as it makes one
 * per call), the headers unreadable. A matcher that reads them (api-key's, looking for its key,
 * when the app makes keys sessions), throws, or answers a promise counts as a match: what it
 * decides depends on the request, Better Auth would fail the request, or run the hook.
 */
const hooksGetSession = (plugin: PluginLike, ctx: Record<string, unknown>): boolean => {
  const call = {
    headers: UNREADABLE_HEADERS,
    query: { disableCookieCache: true },
    context: { ...ctx, returned: undefined, responseHeaders: undefined, session: null },
    operationId: "getSession",
    asResponse: false,
    path: "/get-session"
  }
  return [...(plugin.hooks?.before ?? []), ...(plugin.hooks?.after ?? [])].some((hook) => {
    try {
      const matched: unknown = typeof hook.matcher === "function" ? hook.matcher(call) : true
      if (matched instanceof Promise) matched.catch(() => undefined)
      return Boolean(matched)
    } catch {
      return true
    }
  })
}

export type { Column } from "./UserModel.ts"

/** What the native path needs, captured once. */
export interface Plan {
  readonly cookieName: string
  readonly dontRememberName: string
  readonly secret: Redacted.Redacted<string>
  readonly expiresInMs: number
  readonly updateAgeMs: number
  readonly refreshDisabled: boolean
  readonly sessionTable: string
  readonly userTable: string
  readonly sessionColumns: ReadonlyArray<Column>
  readonly userColumns: ReadonlyArray<Column>
  readonly tokenColumn: string
  readonly userIdColumn: string
}

/**
 * `differs` when the hand-over is not the app's choice (its plugins, hooks, storage, adapter)
 * but Better Auth, or a plugin on the list, not being what the native path relies on (a
 * release not read, a hook on `/get-session` where none was): that is said once, at start-up.
 */
export type Decision =
  | { readonly _tag: "Native"; readonly plan: Plan }
  | { readonly _tag: "HandOver"; readonly reason: string; readonly differs: boolean }

/** True for a plain release of a minor fusion-auth has seen (a prerelease may still change). */
export const versionSeen = (version: string | undefined): boolean => {
  const match = /^(\d+)\.(\d+)\.\d+$/.exec(version ?? "")
  return match !== null && Number(match[1]) === SEEN.major && Number(match[2]) === SEEN.minor
}

/**
 * Better Auth's rule: refresh when `expiresAt - expiresIn + updateAge <= now`, unless refresh
 * is disabled or the session is don't-remember (asked last: only when a refresh would be due).
 */
export const refreshDue = (plan: Plan, expiresAt: Date, now: number, dontRemember: () => boolean): boolean =>
  !plan.refreshDisabled && expiresAt.getTime() - plan.expiresInMs + plan.updateAgeMs <= now && !dontRemember()

/** Field types the Postgres driver of either side reads alike (timestamptz, text, boolean, int4). */
const SAFE_TYPES = new Set(["string", "boolean", "date", "number"])

interface Field {
  readonly type?: unknown
  readonly bigint?: boolean
  readonly transform?: { readonly output?: unknown }
}

/** A field of this model the native statement cannot read as Better Auth's driver does, in words. */
const unreadable = (context: Record<string, any>, model: string): string | undefined => {
  for (const [key, field] of Object.entries((context.tables?.[model]?.fields ?? {}) as Record<string, Field>)) {
    if (typeof field.type !== "string" || !SAFE_TYPES.has(field.type) || field.bigint) return `${model} field "${key}" of type ${String(field.type)}`
    if (field.transform?.output) return `${model} field "${key}" has an output transform`
  }
  return undefined
}

/** Decides, from `await auth.$context` and the installed version, whether the native path may answer. */
export const decide = (context: unknown, version: string | undefined): Decision => {
  const handOver = (reason: string): Decision => ({ _tag: "HandOver", reason, differs: false })
  const differs = (reason: string): Decision => ({ _tag: "HandOver", reason, differs: true })
  if (!versionSeen(version)) return differs(`Better Auth ${version ?? "(unknown version)"} is not a release fusion-auth has seen (${SEEN.text})`)
  const ctx = (context ?? {}) as Record<string, any>
  const options = (ctx.options ?? {}) as Record<string, any>
  const adapter = ctx.adapter as { id?: string; options?: { type?: string; adapterConfig?: { usePlural?: boolean } } } | undefined
  if (typeof ctx.options !== "object" || typeof adapter?.id !== "string") return differs("Better Auth's options or adapter are unknown")
  if (adapter?.id !== "kysely" || adapter.options?.type !== "postgres") return handOver("the database adapter is not Better Auth's Kysely adapter on Postgres")
  if (options.secondaryStorage != null) return handOver("secondaryStorage is configured")
  if (options.session?.deferSessionRefresh) return handOver("session.deferSessionRefresh is on")
  if (options.hooks?.before || options.hooks?.after) return handOver("Better Auth hooks are configured")
  if (typeof options.baseURL === "object" && options.baseURL !== null) return handOver("baseURL is dynamic")
  for (const plugin of (options.plugins ?? []) as ReadonlyArray<PluginLike>) {
    const hooks = typeof plugin.id === "string" ? ALLOWED_PLUGINS.get(plugin.id) : undefined
    if (hooks === undefined) return handOver(`plugin "${String(plugin.id)}" is not known to leave getSession alone`)
    // A plugin released apart from Better Auth (@better-auth/passkey, …) was read at the same minors.
    if (plugin.version !== undefined && !(typeof plugin.version === "string" && versionSeen(plugin.version))) return differs(`plugin "${plugin.id}" ${String(plugin.version)} is not a release fusion-auth has seen (${SEEN.text})`)
    const endpoints = Object.entries(plugin.endpoints ?? {})
    if (endpoints.some(([key, endpoint]) => key === "getSession" || endpoint?.path === "/get-session")) return handOver(`plugin "${plugin.id}" replaces getSession`)
    if ((hooks === "none" || hooks === "as-configured") && hooksGetSession(plugin, ctx)) {
      return hooks === "none" ? differs(`plugin "${plugin.id}" has a hook on getSession`) : handOver(`plugin "${plugin.id}" answers getSession itself, as configured`)
    }
  }
  const cookies = ctx.authCookies as Record<string, { name?: unknown }> | undefined
  const cookieName = cookies?.sessionToken?.name
  const dontRememberName = cookies?.dontRememberToken?.name
  if (typeof cookieName !== "string" || typeof dontRememberName !== "string") return differs("Better Auth's cookie names are unknown")
  if (typeof ctx.secret !== "string" || ctx.secret === "") return differs("Better Auth's secret is unknown")
  const config = (ctx.sessionConfig ?? {}) as { expiresIn?: unknown; updateAge?: unknown }
  if (typeof config.expiresIn !== "number" || typeof config.updateAge !== "number") return differs("Better Auth's session ages are unknown")
  const session = tableOf(ctx, "session")
  const user = tableOf(ctx, "user")
  if (session === undefined || user === undefined) return differs("Better Auth's session or user table is unknown")
  const unread = unreadable(ctx, "session") ?? unreadable(ctx, "user")
  if (unread !== undefined) return handOver(unread)
  const sessionColumns = session.columns
  const userColumns = user.columns
  const tokenColumn = sessionColumns.find((c) => c.key === "token")?.column
  const userIdColumn = sessionColumns.find((c) => c.key === "userId")?.column
  if (!tokenColumn || !userIdColumn || !sessionColumns.some((c) => c.key === "expiresAt")) return differs("the session table lacks token, userId or expiresAt")
  return {
    _tag: "Native",
    plan: {
      cookieName,
      dontRememberName,
      secret: Redacted.make(ctx.secret),
      expiresInMs: config.expiresIn * 1000,
      updateAgeMs: config.updateAge * 1000,
      refreshDisabled: options.session?.disableSessionRefresh === true,
      sessionTable: session.table,
      userTable: user.table,
      sessionColumns,
      userColumns,
      tokenColumn,
      userIdColumn
    }
  }
}
