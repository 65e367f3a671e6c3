/**
 * Scope names: the pattern every scope matches and the one scope fusion-auth itself defines.
 * No imports: the browser-facing entries (`fusion-auth/tanstack-start`, `fusion-auth/client`)
 * reach this file, and nothing of the server through it.
 */

/** Lower-case letters, digits and `:` `.` `_` `-`, starting with a letter; 64 at most. */
export const SCOPE_PATTERN = /^[a-z][a-z0-9:._-]{0,63}$/

/**
 * The scope a token needs to list, create, revoke or rotate its user's tokens. Every policy
 * knows it and every user may grant it, but only when asked for by name: no token has it
 * otherwise. A cookie session manages tokens without it.
 */
export const MANAGE_TOKENS = "tokens:manage"
