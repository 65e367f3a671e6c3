/**
 * The app's token digest scheme, as its own `migrate()` last recorded it, kept in
 * `fusionAuthDigestScheme` (one row): the `fingerprint` of the app's token secret
 * (`TokenSecret.fingerprint`: `sha256`, or `hmac-sha256:` and 16 hex characters; never the
 * secret). `TokenStore` compares its own with it before it mints or revokes by value, so a
 * process with another secret (the CLI without `FUSION_AUTH_TOKEN_SECRET`) refuses instead of
 * minting tokens the app refuses, or missing a leaked token the app still accepts.
 */
import { Effect } from "effect"
import type { SqlClient } from "effect/sql"
import { postgresCode } from "./ModelTable.ts"

/**
 * Records `fingerprint`, replacing the one recorded before: the app's migrate is authoritative.
 * `savedAt` is when this fingerprint was first recorded (migrating again with the same secret writes nothing).
 */
export const save = (sql: SqlClient.SqlClient, fingerprint: string) =>
  sql`insert into "fusionAuthDigestScheme" ("id", "fingerprint", "savedAt") values (1, ${fingerprint}, now())
    on conflict ("id") do update set "fingerprint" = excluded."fingerprint", "savedAt" = excluded."savedAt"
    where "fusionAuthDigestScheme"."fingerprint" is distinct from excluded."fingerprint"`.pipe(Effect.orDie, Effect.asVoid)

/**
 * The recorded fingerprint, or `undefined`: none recorded (a database migrated before this
 * release, or only by the CLI). One statement, never on the request path.
 */
export const load = (sql: SqlClient.SqlClient): Effect.Effect<string | undefined> =>
  sql<{ fingerprint: string }>`select "fingerprint" from "fusionAuthDigestScheme" where "id" = 1`.pipe(
    Effect.map((rows) => rows[0]?.fingerprint),
    // No table yet (a database this release has not migrated, 42P01) means none recorded; any other failure is one.
    Effect.catchTag("SqlError", (error) => (postgresCode(error) === "42P01" ? Effect.succeed(undefined) : Effect.die(error)))
  )
