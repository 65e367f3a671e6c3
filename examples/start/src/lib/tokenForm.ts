/** The token form's input, shared by the page (browser) and the server function that checks it. */
import { Schema } from "effect"

/** Expiry choices the form offers, in days; `null` never expires. */
export const EXPIRY_DAYS = [7, 30, 90, 365] as const

/** Scopes, once fusion-auth has them, are one more field here and one more fieldset in the form. */
export const CreateTokenInput = Schema.Struct({
  name: Schema.String,
  expiresInDays: Schema.NullOr(Schema.Literals(EXPIRY_DAYS))
})
export type CreateTokenInput = typeof CreateTokenInput.Type
