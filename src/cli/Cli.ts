/**
 * `fusion-auth`: the operator's command line. Migrations, tokens and deactivation on the
 * database in `DATABASE_URL`, or on the embedded PGlite in `--data-dir` when it is unset;
 * the app's secret-scanner patterns (`scan-pattern`, no database).
 *
 * Every failure is one line on stderr and an exit code (see `CliErrors.ts`):
 *   0  done (and `--help`)
 *   1  refused, not found, or the database unreachable
 *   2  bad usage: an unknown command or flag, a bad value, a setting that breaks the rules
 * A token is printed once, on stdout, and nowhere else. Settings come through `Config`
 * (the environment; `Settings.ts`).
 */
// The module, not the package's index, which loads all of it (its Redis client, its HTTP server…): about 0.4 s a command.
import * as NodeServices from "@effect/platform-node/NodeServices"
import { betterAuth } from "better-auth"
import { Console, Effect, Exit, Layer, Logger, Option, Redacted, Stdio, Stream } from "effect"
import { Argument, CliOutput, Command, Flag } from "effect/cli"
import * as ApiToken from "../core/ApiToken.ts"
import { describePatterns, scanPatterns } from "../core/ScanPattern.ts"
import { VERSION } from "../core/Version.ts"
import { migrateWith } from "../runtime/migrate.ts"
import { tokenLine, userJson, userLine } from "./Lines.ts"
import * as Database from "../sql/Database.ts"
import { fusionAuth } from "../adapters/plugin.ts"
import * as Stores from "../services/Stores.ts"
import * as UserModel from "../services/UserModel.ts"
import { TokenStore } from "../services/TokenStore.ts"
import { Users } from "../services/Users.ts"
import { describeFailure, Refused, UsageError } from "./CliErrors.ts"
import { listSetting, parseDuration, tokenFormat, tokenLimits, tokenSecret, usage } from "./Settings.ts"

const ACTOR = "cli"

const root = Command.make("fusion-auth").pipe(
  Command.withSharedFlags({
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print machine-readable JSON"), Flag.withDefault(false)),
    dataDir: Flag.String("data-dir").pipe(
      Flag.withDescription(
        "Embedded database folder, used when DATABASE_URL is unset (default: FUSION_AUTH_DATA_DIR, else .data/fusion-auth); a running app's folder is reached through the app"
      ),
      Flag.optional
    ),
    prefix: Flag.String("prefix").pipe(
      Flag.withDescription("The app's token prefix, e.g. acme_ (default: FUSION_AUTH_TOKEN_PREFIX, else sk_live_)"),
      Flag.optional
    )
  }),
  Command.withDescription("Administer fusion-auth: migrations, API tokens and deactivated users")
)

/** Prints JSON with `--json`, otherwise the human lines. */
const output = (value: unknown, lines: () => ReadonlyArray<string>) =>
  Effect.flatMap(root, ({ json }) => Console.log(json ? JSON.stringify(value, null, 2) : lines().join("\n")))

const userFlag = Flag.String("user").pipe(Flag.withDescription("The user's email address"))

const migrateCommand = Command.make("migrate", {}, () =>
  Effect.gen(function*() {
    const { dataDir } = yield* root
    const database = databaseOptions(dataDir)
    const auth = betterAuth({
      database: Database.betterAuthDatabase(database),
      secret: Redacted.value(Redacted.make(crypto.randomUUID() + crypto.randomUUID())),
      telemetry: { enabled: false },
      emailAndPassword: { enabled: true },
      plugins: [fusionAuth()],
      logger: { disabled: true }
    })
    // One hold on the database for the whole command: the embedded folder is opened once, here, with the CLI's logging (stderr).
    yield* Effect.gen(function*() {
      // Better Auth's default schema: refused where the app's own migrate() saved another, which it would not follow.
      const foreign = yield* UserModel.foreignTo(auth.$context)
      if (foreign !== undefined) return yield* new UsageError({ message: foreign })
      yield* Effect.promise(() => migrateWith(auth, database, { saveModel: false })).pipe(
        Effect.ensuring(Effect.promise(() => Database.closeBetterAuthDatabase(auth.options.database)))
      )
    }).pipe(Effect.provide(Database.layer(database)))
    yield* output({ migrated: true }, () => ["Migrated Better Auth's tables and fusion-auth's."])
  })).pipe(Command.withDescription("Create or update Better Auth's core tables and fusion-auth's (idempotent)"))

const tokensCreate = Command.make(
  "create",
  {
    user: userFlag,
    name: Flag.String("name").pipe(Flag.withDescription("A name to recognise the token by")),
    scope: Flag.String("scope").pipe(Flag.withDescription("A scope to grant (repeatable)"), Flag.atLeast(0)),
    expiresIn: Flag.String("expires-in").pipe(Flag.withDescription("Lifetime, e.g. 30d, 12h, 2w"), Flag.optional)
  },
  ({ user, name, scope, expiresIn }) =>
    Effect.gen(function*() {
      const lifetime = Option.isSome(expiresIn) ? yield* parseDuration(expiresIn.value) : undefined
      const owner = yield* Users.use((users) => users.findByEmail(user))
      const expiresAt = lifetime === undefined ? undefined : new Date(Date.now() + lifetime)
      const { token, info } = yield* TokenStore.use((store) =>
        store.create({ userId: owner.id, name, scopes: scope, expiresAt, actorId: ACTOR })
      )
      yield* output({ token: Redacted.value(token), ...info }, () => [Redacted.value(token)])
      const { json } = yield* root
      if (!json) yield* Console.error(`Created ${info.id} (${info.hint}) for ${owner.email}. Copy the token now: it is not shown again.`)
    })
).pipe(Command.withDescription("Create a token for a user and print it, once"))

const organizationFlag = Flag.String("organization").pipe(
  Flag.withDescription("An organization's id (Better Auth's organization plugin): its tokens, whoever minted them"),
  Flag.optional
)

const tokensList = Command.make("list", { user: userFlag.pipe(Flag.optional), organization: organizationFlag }, ({ user, organization }) =>
  Effect.gen(function*() {
    if (Option.isSome(user) === Option.isSome(organization)) return yield* new UsageError({ message: "give either --user or --organization" })
    if (Option.isSome(organization)) {
      const tokens = yield* TokenStore.use((store) => store.listByOrganization(organization.value))
      return yield* output(tokens, () => (tokens.length ? tokens.map(tokenLine) : [`Organization ${organization.value} has no tokens.`]))
    }
    const owner = yield* Users.use((users) => users.findByEmail(Option.getOrThrow(user)))
    const tokens = yield* TokenStore.use((store) => store.list(owner.id))
    yield* output(tokens, () => (tokens.length ? tokens.map(tokenLine) : [`${owner.email} has no tokens.`]))
  })).pipe(Command.withDescription("List a user's or an organization's tokens (never the secrets)"))

const readStdin = Stdio.Stdio.use((stdio) => Stream.mkString(Stream.decodeText(stdio.stdin)))

const tokensRevoke = Command.make(
  "revoke",
  {
    id: Argument.String("id").pipe(Argument.withDescription("The token's id"), Argument.optional),
    leaked: Flag.Boolean("leaked").pipe(
      Flag.withDescription("Read text from stdin and revoke every fusion-auth token found in it"),
      Flag.withDefault(false)
    ),
    organization: organizationFlag
  },
  ({ id, leaked, organization }) =>
    Effect.gen(function*() {
      const store = yield* TokenStore
      if ([leaked, Option.isSome(id), Option.isSome(organization)].filter(Boolean).length !== 1) {
        return yield* new UsageError({ message: "give one of a token id, --organization, or --leaked (with the token on stdin)" })
      }
      if (Option.isSome(organization)) {
        // Each live token of the organization, with its descendants, one transaction and audit event each.
        const live = (yield* store.listByOrganization(organization.value)).filter((t) => t.revokedAt === null)
        const revoked = yield* Effect.forEach(live, (t) =>
          store.revokeById(t.id, ACTOR).pipe(Effect.map(Option.some), Effect.catchTag("TokenNotFound", () => Effect.succeedNone)))
        const done = revoked.flatMap((r) => (Option.isSome(r) ? [r.value] : []))
        return yield* output(done, () =>
          done.length ? done.map((t) => `Revoked ${t.id} (${t.hint}) of user ${t.userId}.`) : [`Organization ${organization.value} has no live tokens.`])
      }
      if (Option.isSome(id)) {
        const info = yield* store.revokeById(id.value, ACTOR)
        return yield* output(info, () => [`Revoked ${info.id} (${info.hint}) of user ${info.userId}.`])
      }
      const { prefix } = yield* root
      const { prefix: current, legacyPrefixes } = yield* tokenFormat(prefix)
      const found = ApiToken.format(current, legacyPrefixes).find(yield* readStdin)
      if (found.length === 0) return yield* new Refused({ message: "no fusion-auth token found on stdin" })
      const revoked = yield* Effect.forEach(found, ({ token }) =>
        store.revokeLeaked(token, ACTOR).pipe(Effect.map(Option.some), Effect.catchTag("TokenNotFound", () => Effect.succeedNone)))
      const known = revoked.flatMap((r) => (Option.isSome(r) ? [r.value] : []))
      yield* output({ found: found.length, revoked: known }, () => [
        ...known.map((t) => `Revoked ${t.id} (${t.hint}) of user ${t.userId}.`),
        ...(found.length > known.length ? [`${found.length - known.length} token(s) found are not in this database.`] : [])
      ])
      if (known.length === 0) return yield* new Refused({ message: "none of the tokens found is in this database" })
    })
).pipe(Command.withDescription("Revoke a token by id, every live token of an organization, or a leaked token read from stdin"))

const setActive = (deactivate: boolean) =>
  Command.make(deactivate ? "deactivate" : "reactivate", { email: Argument.String("email") }, ({ email }) =>
    Effect.gen(function*() {
      const users = yield* Users
      const user = yield* users.findByEmail(email)
      const changed = yield* (deactivate ? users.deactivate(user.id, ACTOR) : users.reactivate(user.id, ACTOR))
      yield* output(userJson(changed), () => [userLine(changed)])
      if (!deactivate && changed.deprovisionedAt != null) {
        yield* Console.error("Still locked out: the directory (SCIM) has them inactive; it lets them back in by setting them active.")
      }
    })).pipe(
      Command.withDescription(
        deactivate
          ? "Lock a user out of every session and token, on their next request"
          : "Let a deactivated user's sessions and tokens back in (a directory's deactivation, over SCIM, is the directory's to lift)"
      )
    )

const usersList = Command.make(
  "list",
  { deactivated: Flag.Boolean("deactivated").pipe(Flag.withDescription("Only deactivated users"), Flag.withDefault(false)) },
  ({ deactivated }) =>
    Effect.gen(function*() {
      const users = yield* Users.use((u) => u.list(deactivated ? { deactivated: true } : {}))
      yield* output(users.map(userJson), () => (users.length ? users.map(userLine) : ["No users."]))
    })
).pipe(Command.withDescription("List users"))

const scanPattern = Command.make("scan-pattern", {}, () =>
  Effect.gen(function*() {
    const options = yield* tokenFormat((yield* root).prefix)
    const patterns = scanPatterns(ApiToken.format(options.prefix, options.legacyPrefixes))
    yield* output(patterns, () => describePatterns(patterns))
  })).pipe(Command.withDescription("Print a gitleaks rule and a GitHub custom secret-scanning pattern for the app's tokens"))

/** `DATABASE_URL`, or the embedded folder: this process's, or the running app's that owns it. */
const databaseOptions = (dataDir: Option.Option<string>): Database.DatabaseOptions => ({
  dataDir: Option.getOrUndefined(dataDir),
  connectToOwner: true
})

/** The stores on the chosen database; built when a command that needs them runs, never for `--help`. */
const stores = Layer.unwrap(Effect.gen(function*() {
  const { dataDir, prefix } = yield* root
  const tokens = { scopes: yield* listSetting("FUSION_AUTH_SCOPES"), ...(yield* tokenLimits), ...(yield* tokenFormat(prefix)) }
  const secret = Option.getOrUndefined(yield* tokenSecret)
  const settings = yield* usage(() => Stores.settings({ tokens, tokenSecret: secret }))
  return Stores.layer.pipe(
    Layer.provide(UserModel.layerSaved),
    Layer.provide(Database.layer(databaseOptions(dataDir))),
    Layer.provide(settings)
  )
}))

const tokens = Command.make("tokens").pipe(
  Command.withDescription("Create, list and revoke API tokens"),
  Command.withSubcommands([tokensCreate, tokensList, tokensRevoke]),
  Command.provide(stores)
)

const users = Command.make("users").pipe(
  Command.withDescription("Deactivate, reactivate and list users"),
  Command.withSubcommands([setActive(true), setActive(false), usersList]),
  Command.provide(stores)
)

const cli = root.pipe(Command.withSubcommands([migrateCommand, tokens, users, scanPattern]))

/** A usage mistake is its one line on stderr (`describeFailure`), never the help page on stdout; `--help` and a bare command still show it. */
const usageMistakesUnprinted = CliOutput.layerPresenter({
  present: (event) => (event._tag === "InvalidInvocation" ? Effect.void : CliOutput.defaultPresenter.present(event))
})

// Logs (the embedded folder's upgrade, a lock's warning) go to stderr: stdout is the command's answer, `--json` a document.
const program = Command.run(cli, { version: VERSION }).pipe(
  Effect.provide(Layer.merge(NodeServices.layer, usageMistakesUnprinted)),
  Effect.provideService(Logger.LogToStderr, true)
)

const exit = await Effect.runPromiseExit(program)
await Database.closeEmbedded()
if (Exit.isFailure(exit)) {
  const { line, code } = describeFailure(exit.cause)
  if (line !== "") process.stderr.write(`fusion-auth: ${line}\n`)
  process.exitCode = code
}
