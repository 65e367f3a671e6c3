/**
 * Lookups by key that are in flight at the same moment go out as ONE statement, through
 * Effect's own request batching (`Request`, `RequestResolver`).
 *
 * - A lookup made while none of its table's statements is in flight (and none waits in a
 *   batch) is sent at once, alone, as the single-key statement (`= $1`): nothing waits for a
 *   batch to fill, so at concurrency 1 a lookup costs what it did before batching.
 * - Any other lookup joins the batch that collects until the runtime next yields (one hop,
 *   no timer), or at once when it reaches `MAX_BATCH` distinct keys (or `MAX_ENTRIES`
 *   lookups); that batch goes out as one statement (`statements(…).many`), whatever else is
 *   in flight. So a lookup waits at most one turn of the event loop for company, and many at
 *   once cost one statement per batch.
 * - While a batch waits, no lookup is sent alone ahead of it.
 *
 * A batch is read after every lookup in it began, so a change visible before a lookup began
 * is in its answer: an ended session or a locked-out user is refused on the very next
 * request. A lookup inside a transaction never joins a batch (it would run on that
 * transaction's connection, with its locks): it runs alone.
 */
import { Effect, Exit, Option, Request, RequestResolver } from "effect"
import type { SqlClient } from "effect/sql"

/**
 * The most distinct keys one statement carries. A statement runs on one connection, key after
 * key: past 16, a bigger batch saves little more per key, while two of 16 run side by side and
 * the first's answers are read while the second runs (docs/performance.md, "Batches of 16").
 */
export const MAX_BATCH = 16

/** The most lookups one statement answers: many of them for a few keys. */
const MAX_ENTRIES = 4 * MAX_BATCH

const distinctKeys = (entries: ReadonlySet<Request.Entry<Lookup<unknown>>>): number => {
  const keys = new Set<string>()
  for (const entry of entries) keys.add(entry.request.key)
  return keys.size
}

class Lookup<A> extends Request.Class<{ readonly key: string }, A | undefined> {}

export interface BatchOptions<A> {
  /** Today's statement: the row for one key, or `undefined`. */
  readonly one: (key: string) => Effect.Effect<A | undefined>
  /** One statement for many keys (distinct, 2 to `MAX_BATCH`): each key's row, by key. */
  readonly many: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, A>>
  /** Told the size of each statement sent (1 for `one`). */
  readonly sent?: ((keys: number) => void) | undefined
}

/** A lookup by key that batches with the others in flight; built once per table, so they share it. */
export const make = <A>(sql: SqlClient.SqlClient, options: BatchOptions<A>): (key: string) => Effect.Effect<A | undefined> => {
  const sent = options.sent ?? (() => undefined)
  const one = (key: string) => Effect.tap(options.one(key), () => Effect.sync(() => sent(1)))
  const run = (keys: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, A>> =>
    keys.length === 1
      ? Effect.map(one(keys[0]!), (row) => new Map(row === undefined ? [] : [[keys[0]!, row]]))
      : Effect.tap(options.many(keys), () => Effect.sync(() => sent(keys.length)))
  // Effect's own batching: the lookups made before the runtime next yields (one hop) go together,
  // up to MAX_BATCH distinct keys (lookups of one key, a page's parallel requests with one cookie
  // say, share its place; at most MAX_ENTRIES lookups, so counting them stays cheap).
  const answerAll = RequestResolver.make<Lookup<A>>((entries) =>
    Effect.map(run([...new Set(entries.map((e) => e.request.key))]), (rows) => {
      for (const entry of entries) entry.completeUnsafe(Exit.succeed(rows.get(entry.request.key)))
    })
  )
  const resolver = RequestResolver.makeWith<Lookup<A>>({
    ...answerAll,
    collectWhile: (entries) => entries.size < MAX_ENTRIES && distinctKeys(entries) < MAX_BATCH
  })
  /** This table's lookups not answered yet (alone or in a batch): with none, a lookup goes alone. */
  let pending = 0
  const answered = Effect.sync(() => void pending--)
  const lookup = (key: string) =>
    Effect.suspend(() => {
      const alone = pending === 0
      pending++
      return Effect.ensuring(alone ? one(key) : Effect.request(new Lookup<A>({ key }), resolver), answered)
    })
  return (key) => Effect.flatMap(Effect.serviceOption(sql.transactionService), (transaction) => Option.isSome(transaction) ? one(key) : lookup(key))
}

/**
 * The two statements of a lookup by a unique key, from one `select` (its list and `from`,
 * no `where`) and the key's column:
 * - `one`: `select … where key = $1 limit 1`;
 * - `many`: the keys as a `text[]` in `$1`, each looked up by the same `where key = … limit 1`
 *   in a lateral subquery, with its key answered as `"fusionKey"`. So each key is one probe
 *   of the key's unique index, at a few thousand rows as at millions (`key = any($1)` let the
 *   planner hash-join the whole user table there), and the plan does not depend on how many
 *   keys come (`generate_subscripts` has no row estimate from its argument), so Postgres keeps
 *   one generic plan of a prepared statement rather than planning each batch anew.
 */
export const statements = (select: string, key: string) => ({
  one: `select ${select} where ${key} = $1 limit 1`,
  many: `select ($1::text[])[k.i] as "fusionKey", x.* from generate_subscripts($1::text[], 1) as k(i) ` +
    `cross join lateral (select ${select} where ${key} = ($1::text[])[k.i] limit 1) as x`
})

/**
 * `make` over two statement texts, as `statements` makes them: `one` takes the key as `$1`;
 * `many` takes the keys as a `text[]` in `$1` and answers each row's key as `"fusionKey"`.
 * `decode` makes a row the answer; `sent` is `make`'s hook.
 */
export const fromStatements = <A>(
  sql: SqlClient.SqlClient,
  statements: {
    readonly one: string
    readonly many: string
    readonly decode: (row: Record<string, unknown>) => A
    readonly sent?: ((keys: number) => void) | undefined
  }
): (key: string) => Effect.Effect<A | undefined> =>
  make(sql, {
    sent: statements.sent,
    one: (key) =>
      sql.unsafe<Record<string, unknown>>(statements.one, [key]).pipe(
        Effect.map((rows) => (rows[0] === undefined ? undefined : statements.decode(rows[0]))),
        Effect.orDie
      ),
    many: (keys) =>
      sql.unsafe<Record<string, unknown>>(statements.many, [keys]).pipe(
        Effect.map((rows) => new Map(rows.map((row) => [row.fusionKey as string, statements.decode(row)]))),
        Effect.orDie
      )
  })
