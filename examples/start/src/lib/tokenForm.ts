/** The token form's input, shared by the page (browser) and the server function that checks it. */
import { Schema } from "effect"
import { MAX_LIFETIME_DAYS, SCOPES } from "./tokenPolicy.ts"

/** Expiry choices the form offers, in days, up to the policy's maximum lifetime. */
export const EXPIRY_DAYS = [7, 30, MAX_LIFETIME_DAYS] as const

/** The scope the form starts with ticked. */
export const DEFAULT_SCOPE = "read"

export const CreateTokenInput = Schema.Struct({
  name: Schema.String,
  // Any strings, a few of them: fusion-auth itself refuses a scope that is unknown or not the
  // user's to grant, naming it (`InvalidTokenInput`), and the page shows that message.
  scopes: Schema.Array(Schema.String).check(Schema.isMaxLength(SCOPES.length)),
  expiresInDays: Schema.Literals(EXPIRY_DAYS)
})
export type CreateTokenInput = typeof CreateTokenInput.Type
