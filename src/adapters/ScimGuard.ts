/**
 * Better Auth's SCIM plugin (`@better-auth/scim`, the plugin whose id is `scim`): a directory
 * (Okta, Entra ID, …) provisions the app's users and says whether each is `active`. When no
 * source of a user is active any more, the plugin deletes their sessions, and no more: their
 * API tokens, and anything a session outside Better Auth's table holds, would go on serving.
 *
 * fusion-auth takes the directory's word as a deactivation of its own, `deprovisionedAt`, set
 * while the directory has the user inactive and cleared when it has them active again. It is
 * kept apart from the app's `deactivatedAt`, so neither lifts the other: a directory that
 * re-enables someone the app deactivated leaves them deactivated, and the app's reactivation
 * leaves a user the directory disabled locked out (`core/LockOut.ts` reads both). It is written
 * in the plugin's own transaction, through the one option the plugin offers for it
 * (`identity.reconcileUser`, composed with the app's at `init`), so the user is locked out on
 * the next request exactly when the directory's change is committed, and never by a change
 * rolled back. One primary-key read, and a write only when the state changes (the column, and
 * Better Auth's `updatedAt` with it), per reconciliation. A disable the plugin made before
 * fusion-auth kept its word is set once by the app's `migrate()` (`sql/DirectoryBackfill.ts`).
 */
import { composeOnce } from "./Composed.ts"
import { fusionAuthHere, pluginOf, type WithPlugins } from "./LockOutReads.ts"

/** What the plugin tells `identity.reconcileUser` of a user (`SCIMIdentityState`), as far as it is read here. */
interface IdentityState {
  readonly userId: string
  readonly active: boolean
}

type Where = ReadonlyArray<{ readonly field: string; readonly value: string }>

/** The plugin's transaction, through Better Auth's adapter: its model and field names follow the app's schema. */
interface Transaction {
  findOne<T>(query: { readonly model: string; readonly where: Where }): Promise<T | null>
  update<T>(query: { readonly model: string; readonly where: Where; readonly update: Record<string, unknown> }): Promise<T | null>
}

type Reconcile = (state: IdentityState, context: { readonly database: Transaction }) => void | Promise<void>

/** The directory's word on `state.userId`, in the plugin's transaction: written only when it changes. */
const reconcile = async (state: IdentityState, database: Transaction) => {
  const where = [{ field: "id", value: state.userId }]
  const user = await database.findOne<{ readonly deprovisionedAt?: unknown }>({ model: "user", where })
  if (user === null || (user.deprovisionedAt != null) === !state.active) return
  await database.update({ model: "user", where, update: { deprovisionedAt: state.active ? null : new Date() } })
}

/**
 * The SCIM plugin's `identity.reconcileUser`: the directory's word written, then the app's own
 * (which sees it, and whose failure rolls it back with the plugin's transaction); changed in place, at `init`.
 */
export const guardScim = (options: WithPlugins): void => {
  const scim = pluginOf(options, "scim")?.options as { identity?: { reconcileUser?: Reconcile | undefined } } | undefined
  if (scim === undefined) return
  // The plugin reads `options.identity` on each call: the app's object is kept (its `resolveUser` with it).
  const identity = (scim.identity ??= {})
  composeOnce<"reconcileUser", Reconcile>(identity, "reconcileUser", (app) => async (state, context) => {
    if (await fusionAuthHere()) await reconcile(state, context.database)
    await app?.call(identity, state, context)
  })
}
