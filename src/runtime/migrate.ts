/**
 * `migrate`: Better Auth's migrations, then fusion-auth's (`sql/Migrations.ts`), on the app's
 * database; and `migrateWith`, the same with `Migrations.run`'s options, for the CLI.
 */
import { Effect, Layer, type Redacted } from "effect"
import type { BetterAuthLike } from "../services/CookieSource.ts"
import * as Database from "../sql/Database.ts"
import { directoryTables } from "../sql/DirectoryBackfill.ts"
import * as Migrations from "../sql/Migrations.ts"
import { fingerprint } from "../core/TokenSecret.ts"
import * as UserModel from "../services/UserModel.ts"

/** What `migrate` records besides the schema. */
export interface MigrateOptions {
  /**
   * The app's `tokenSecret` (`undefined`: none, plain SHA-256). Given, the fingerprint of its
   * digest scheme (`TokenSecret.fingerprint`, never the secret) is recorded, replacing the one
   * before, and a process with another secret (the CLI without `FUSION_AUTH_TOKEN_SECRET`)
   * then refuses to mint or revoke by value. `createAuthSession(auth, options).migrate()` gives
   * its own `tokenSecret`.
   */
  readonly tokenSecret?: string | Redacted.Redacted<string> | undefined
}

/**
 * Runs Better Auth's migrations, then fusion-auth's, on the same database. Idempotent.
 * Better Auth's migrator runs only on a database it connects to itself (a pool, a dialect, a
 * Kysely instance); with an adapter instance (`kyselyAdapter(db, { usePlural })`) its tables
 * are the app's to create (Better Auth's CLI `generate`), and only fusion-auth's run here.
 *
 * With `options`, it records the app's token digest scheme (see `MigrateOptions`); without,
 * the one recorded (if any) is left as it is, since this call does not know the app's secret.
 */
export const migrate = async (auth: BetterAuthLike, database?: Database.DatabaseOptions, options?: MigrateOptions): Promise<void> =>
  migrateWith(auth, database, {
    saveModel: true,
    directory: directoryTables(await auth.$context),
    ...(options === undefined ? {} : { fingerprint: fingerprint(options.tokenSecret) })
  })

/**
 * `migrate`; the CLI's, on Better Auth's default schema, saves no model (it would replace the
 * app's) and records no digest scheme (it is not the app's to say), `Migrations.run`'s options.
 */
export const migrateWith = async (
  auth: BetterAuthLike,
  database: Database.DatabaseOptions | undefined,
  options: Migrations.RunOptions
): Promise<void> => {
  if (typeof auth.options.database !== "function") {
    const { getMigrations } = await import("better-auth/db/migration")
    const { runMigrations } = await getMigrations(auth.options as Parameters<typeof getMigrations>[0])
    await runMigrations()
  }
  await Effect.runPromise(
    Migrations.run(options).pipe(Effect.provide(UserModel.layer(auth.$context).pipe(Layer.provideMerge(Database.layer(database)))), Effect.asVoid)
  )
}

