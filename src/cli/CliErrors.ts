/**
 * The command line's failures and the one line and exit code each ends in: 0 ok, 1 refused,
 * not found or unreachable, 2 bad usage. Matched by `_tag`, never by a message's text.
 */
import { Cause, Option, Result, Schema } from "effect"

/** A usage mistake the user can fix (a bad flag value, a setting that breaks the rules): exit 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

/** A refusal that no domain error names (nothing to revoke on stdin): exit 1. */
export class Refused extends Schema.TaggedError<Refused>()("Refused", { message: Schema.String }) {}

export type ExitCode = 0 | 1 | 2

/** What the process prints (after `fusion-auth: `, nothing when empty) and exits with. */
export interface Outcome {
  readonly line: string
  readonly code: ExitCode
}

export const UNREACHABLE = "cannot reach the database (check DATABASE_URL, or that the app owning the embedded folder is running)"

/** effect/cli's own parse failures: a usage mistake. `ShowHelp` is handled apart. */
const CLI_PARSE_ERRORS: ReadonlySet<string> = new Set([
  "UnrecognizedOption", "DuplicateOption", "MissingOption", "MissingArgument", "UnexpectedArgument",
  "InvalidValue", "UnknownSubcommand", "ValidationError", "UserError"
])

/** Socket failures of a driver used outside effect/sql (Better Auth's pool in `migrate`), by their `code`. */
const SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN"
])

interface Tagged {
  readonly _tag?: unknown
  readonly message?: unknown
  readonly code?: unknown
  readonly reason?: { readonly _tag?: unknown; readonly operation?: unknown; readonly cause?: unknown } | undefined
  readonly errors?: ReadonlyArray<{ readonly message?: unknown }> | undefined
}

/** The CLI prefixes `fusion-auth: ` itself; a message that already carries it loses it. */
export const stripPrefix = (message: string) => message.replace(/^fusion-auth: /, "")

/** An error's message as one line, without the library's prefix. */
const messageOf = (error: unknown): string => {
  const message = typeof error === "object" && error !== null && typeof (error as Tagged).message === "string"
    ? (error as { readonly message: string }).message
    : ""
  const text = message !== "" ? message : String(error)
  return stripPrefix(text.trim().replace(/\s*\n\s*/g, " "))
}

/**
 * A `SqlError` by its reason: no connection (`ConnectionError`: refused, reset, closed during
 * start-up) is the unreachable line; a server that refused the connection (no such database,
 * a wrong password: another reason with operation `connect`) is that line with the server's
 * words; any other failure, the error's own message.
 */
const sqlLine = (error: Tagged): string => {
  const reason = error.reason
  if (reason?._tag === "ConnectionError") return UNREACHABLE
  if (reason?.operation === "connect") {
    const detail = reason.cause instanceof Error ? reason.cause.message : ""
    return detail === "" ? UNREACHABLE : `${UNREACHABLE}: ${detail}`
  }
  return messageOf(error)
}

/** One error, failed or died with: its line and exit code, by its tag. */
export const describeError = (error: unknown): Outcome => {
  const e: Tagged = typeof error === "object" && error !== null ? (error as Tagged) : {}
  switch (e._tag) {
    case "UsageError":
    case "ConfigError":
      return { line: messageOf(error), code: 2 }
    case "Refused":
      return { line: messageOf(error), code: 1 }
    case "ShowHelp": {
      const errors = e.errors ?? []
      return errors.length === 0 ? { line: "", code: 0 } : { line: errors.map(messageOf).join("; "), code: 2 }
    }
    case "SqlError":
      return { line: sqlLine(e), code: 1 }
  }
  if (typeof e._tag === "string" && CLI_PARSE_ERRORS.has(e._tag)) return { line: messageOf(error), code: 2 }
  if (typeof e.code === "string" && SOCKET_CODES.has(e.code)) return { line: UNREACHABLE, code: 1 }
  // Any other domain error (UserNotFound, TokenNotFound, …) or a defect: its own message.
  return { line: messageOf(error), code: 1 }
}

/** The run's failure: its first typed error, else its first defect, else an interruption. */
export const describeFailure = (cause: Cause.Cause<unknown>): Outcome => {
  const failed = Cause.findErrorOption(cause)
  if (Option.isSome(failed)) return describeError(failed.value)
  const died = Cause.findDefect(cause)
  if (Result.isSuccess(died)) return describeError(died.success)
  return { line: "interrupted", code: 1 }
}
