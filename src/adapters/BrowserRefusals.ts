/**
 * Where Better Auth sends a browser rather than answers a script — a mailed magic link
 * followed, an OAuth flow's return — it answers its own refusals with a redirect that carries
 * `?error=<code>` (and `error_description`), so the app's error page shows them. A lock-out's
 * refusal there takes the same shape, to the same place: for a magic link, its
 * `errorCallbackURL` (else its `callbackURL`, else `/`), whose origin the plugin checked before
 * it ran; for an OAuth link, the error URL its flow began with (else the app's
 * `onAPIError.errorURL`, else Better Auth's `/error` page). Where it answers a device polling
 * for its token (RFC 8628, the device authorization plugin's `/device/token`), it answers in the
 * protocol's shape, `{ error, error_description }`, and so does a lock-out's refusal there.
 */
import { APIError } from "better-auth/api"

/** `url` with `error` (and `error_description`) added to its query, before any fragment. */
export const withError = (url: string, code: string, description?: string): string => {
  const hash = url.indexOf("#")
  const [head, fragment] = hash < 0 ? [url, ""] : [url.slice(0, hash), url.slice(hash)]
  const params = new URLSearchParams({ error: code, ...(description === undefined ? {} : { error_description: description }) })
  return `${head}${head.includes("?") ? "&" : "?"}${params}${fragment}`
}

interface Redirecting {
  redirect(url: string): Error
  readonly query?: Record<string, unknown> | undefined
  readonly context: { readonly baseURL: string; readonly options: { readonly onAPIError?: { readonly errorURL?: string | undefined } | undefined } }
}

const refusalOf = (error: APIError) => {
  const { code, message } = (error.body ?? {}) as { code?: unknown; message?: unknown }
  return typeof code === "string" ? { code, message: typeof message === "string" ? message : undefined } : undefined
}

/** A lock-out's refusal (`error`, a JSON one) of a magic link followed: the redirect the plugin makes of its own refusals; `undefined` elsewhere. */
export const magicLinkRedirect = (raw: unknown, error: APIError): Error | undefined => {
  const ctx = raw as Redirecting & { readonly path?: string }
  const refusal = refusalOf(error)
  if (ctx.path !== "/magic-link/verify" || refusal === undefined) return undefined
  const pick = (name: string) => (typeof ctx.query?.[name] === "string" && ctx.query[name] !== "" ? ctx.query[name] as string : undefined)
  const to = new URL(pick("errorCallbackURL") ?? pick("callbackURL") ?? "/", ctx.context.baseURL).toString()
  return ctx.redirect(withError(to, refusal.code, refusal.message))
}

/** A lock-out's refusal (`error`) of an OAuth link whose flow began with `errorURL`: the redirect Better Auth makes when it cannot link. */
export const linkRedirect = (raw: unknown, errorURL: unknown, error: APIError): Error => {
  const ctx = raw as Redirecting
  const refusal = refusalOf(error)
  if (refusal === undefined) return error
  const to = typeof errorURL === "string" && errorURL !== "" ? errorURL : ctx.context.options.onAPIError?.errorURL ?? `${ctx.context.baseURL}/error`
  return ctx.redirect(withError(to, refusal.code, refusal.message))
}

/**
 * A lock-out's refusal (`error`) of a device's poll for its token: 400 `access_denied` (RFC
 * 8628: the authorization was refused), described, with fusion-auth's code beside it; `undefined` elsewhere.
 */
export const deviceTokenRefusal = (raw: unknown, error: APIError): Error | undefined => {
  const refusal = refusalOf(error)
  if ((raw as { readonly path?: string }).path !== "/device/token" || refusal === undefined) return undefined
  return new APIError("BAD_REQUEST", { error: "access_denied", error_description: refusal.message ?? refusal.code, code: refusal.code })
}
