/**
 * The CLI's settings, read through `Config` (the environment), an empty one as unset:
 * `FUSION_AUTH_TOKEN_PREFIX`, `FUSION_AUTH_TOKEN_LEGACY_PREFIXES`, `FUSION_AUTH_SCOPES`,
 * `FUSION_AUTH_TOKEN_SECRET`, `FUSION_AUTH_MAX_LIFETIME`, `FUSION_AUTH_MAX_LIVE_TOKENS`. A value
 * that breaks the rules is a `UsageError` (exit 2), named.
 */
import { Config, Effect, Option, Redacted } from "effect"
import * as ApiToken from "../core/ApiToken.ts"
import type { TokenPolicyOptions } from "../core/TokenPolicy.ts"
import { stripPrefix, UsageError } from "./CliErrors.ts"

/** `30d`, `12h`, `90m`, `2w` → milliseconds; anything else is a usage mistake. */
export const parseDuration = (text: string): Effect.Effect<number, UsageError> => {
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim())
  return match === null
    ? Effect.fail(new UsageError({ message: `bad duration "${text.slice(0, 40)}": use a number and m, h, d or w, e.g. 30d` }))
    : Effect.succeed(Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as "m" | "h" | "d" | "w"])
}

/** A setting from the environment; unset or empty is `None`. */
const setting = (name: string) => Config.option(Config.String(name)).pipe(Config.map(Option.filter((value) => value !== "")))

/** A comma-separated setting; unset or empty is none. */
export const listSetting = (name: string) =>
  Config.map(setting(name), (text) => Option.getOrElse(text, () => "").split(",").map((s) => s.trim()).filter(Boolean))

/**
 * The app's token limits, which live in its code: `FUSION_AUTH_MAX_LIFETIME` (as `--expires-in`
 * takes it, e.g. 90d) and `FUSION_AUTH_MAX_LIVE_TOKENS`; unset, the library's defaults (no
 * maximum lifetime, 50 live tokens a user).
 */
export const tokenLimits: Effect.Effect<Pick<TokenPolicyOptions, "maxLifetime" | "maxLiveTokensPerUser">, UsageError | Config.ConfigError> = Effect.gen(function*() {
  const lifetime = yield* setting("FUSION_AUTH_MAX_LIFETIME")
  const live = yield* setting("FUSION_AUTH_MAX_LIVE_TOKENS")
  if (Option.isSome(live) && !/^\d{1,6}$/.test(live.value.trim())) {
    return yield* new UsageError({ message: `FUSION_AUTH_MAX_LIVE_TOKENS must be a whole number, not "${live.value.slice(0, 40)}"` })
  }
  return {
    ...(Option.isSome(lifetime)
      ? { maxLifetime: yield* Effect.mapError(parseDuration(lifetime.value), (e) => new UsageError({ message: `FUSION_AUTH_MAX_LIFETIME: ${e.message}` })) }
      : {}),
    ...(Option.isSome(live) ? { maxLiveTokensPerUser: Number(live.value) } : {})
  }
})

/** The secret for token digests, never printed; unset or empty is none. */
export const tokenSecret = Config.option(Config.Redacted("FUSION_AUTH_TOKEN_SECRET")).pipe(
  Config.map(Option.filter((secret) => Redacted.value(secret) !== ""))
)

/** A value the library refuses by throwing (a bad prefix or scope name): a usage mistake. */
export const usage = <A>(build: () => A): Effect.Effect<A, UsageError> =>
  Effect.try({ try: build, catch: (error) => new UsageError({ message: stripPrefix(error instanceof Error ? error.message : String(error)) }) })

/**
 * The app's token format: `--prefix`, else `FUSION_AUTH_TOKEN_PREFIX`, else the default; the
 * prefixes in `FUSION_AUTH_TOKEN_LEGACY_PREFIXES` still accepted. A bad prefix is a usage mistake.
 */
export const tokenFormat = (prefix: Option.Option<string>): Effect.Effect<TokenPolicyOptions, UsageError | Config.ConfigError> =>
  Effect.gen(function*() {
    const fromEnv = yield* setting("FUSION_AUTH_TOKEN_PREFIX")
    const options = {
      prefix: Option.getOrUndefined(Option.orElse(prefix, () => fromEnv)),
      legacyPrefixes: yield* listSetting("FUSION_AUTH_TOKEN_LEGACY_PREFIXES")
    }
    yield* usage(() => ApiToken.format(options.prefix, options.legacyPrefixes))
    return options
  })
