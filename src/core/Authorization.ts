/**
 * Reads the credential a request presents. Pure: no I/O, no clock.
 *
 * A header that mentions the Bearer scheme anywhere decides alone: it must be exactly
 * `Bearer <token>` with a well-formed token, or it is malformed. The cookie is then never
 * consulted, so a bad token cannot fall back to a browser session. Two `Authorization`
 * headers arrive joined by a comma and so are malformed too. Other schemes (Basic, …) are
 * not fusion-auth's and leave the cookie to decide.
 *
 * A well-formed Bearer value that is not an API token (none of the accepted prefixes) and
 * is sent as Better Auth's `bearer()` plugin reads it (`Bearer ` exactly, then the value) may
 * be a Better Auth session token: `SessionBearer`, which only that plugin's presence makes
 * anything but malformed (see `CookieSource.bearer`).
 */
import * as ApiToken from "./ApiToken.ts"

export type Presented =
  | { readonly _tag: "Cookie" }
  | { readonly _tag: "Bearer"; readonly token: ApiToken.ApiToken }
  | { readonly _tag: "SessionBearer"; readonly value: string }
  | { readonly _tag: "Malformed" }

const cookie: Presented = { _tag: "Cookie" }
const malformed: Presented = { _tag: "Malformed" }
const MENTIONS_BEARER = /(?:^|,)[ \t]*bearer(?:[ \t]|,|$)/i
const EXACT = /^bearer[ \t]+([^ \t,]+)[ \t]*$/i
/** How `bearer()` recognises its header: `bearer ` (any case) at the very start. */
const BETTER_AUTH_BEARER = /^bearer /i
/** What a Better Auth session token can be: its token (letters, digits, `-`, `_`), and a signature (base64, maybe URI-encoded). */
const SESSION_VALUE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9+/=%]+)?$/

/** The credential in these headers; a Bearer token must be of `format` (an accepted prefix). */
export const presented = (headers: Headers, format: ApiToken.Format = ApiToken.DEFAULT): Presented => {
  const raw = headers.get("authorization")
  if (raw === null || !MENTIONS_BEARER.test(raw)) return cookie
  const match = raw.length <= format.maxLength + 64 ? EXACT.exec(raw.replace(/^[ \t]+/, "")) : null
  if (match === null) return malformed
  const value = match[1]!
  const token = format.parse(value)
  if (token !== undefined) return { _tag: "Bearer", token }
  const apiToken = format.prefixes.some((prefix) => value.startsWith(prefix)) || ApiToken.ANY_PREFIX_SHAPE.test(value)
  return apiToken || !BETTER_AUTH_BEARER.test(raw) || !SESSION_VALUE.test(value) ? malformed : { _tag: "SessionBearer", value }
}
