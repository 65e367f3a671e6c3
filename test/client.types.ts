/**
 * Type-level test of `fusion-auth/client` (checked by `tsc`): the client's token actions infer
 * their inputs and results from the server plugin.
 */
import { createAuthClient } from "better-auth/client"
import { fusionAuthClient } from "../src/client.ts"

const client = createAuthClient({ baseURL: "http://localhost:3000", plugins: [fusionAuthClient()] })
export const check = async () => {
  const listed = await client.fusionAuth.tokens.list()
  const scopes: ReadonlyArray<string> | undefined = listed.data?.scopes
  const created = await client.fusionAuth.tokens.create({ name: "x", scopes: ["read"], expiresIn: 60 })
  const token: string | undefined = created.data?.token
  const when: Date | null | undefined = created.data?.info.expiresAt
  const revoked = await client.fusionAuth.tokens.revoke({ tokenId: "x" })
  const at: Date | null | undefined = revoked.data?.revokedAt
  const rotated = await client.fusionAuth.tokens.rotate({ tokenId: "x", gracePeriod: 60 })
  // @ts-expect-error name is required
  await client.fusionAuth.tokens.create({ scopes: ["read"] })
  // @ts-expect-error expiresIn is a number of seconds
  await client.fusionAuth.tokens.create({ name: "x", expiresIn: "1d" })
  // @ts-expect-error the token is a string, not any
  const wrong: number | undefined = created.data?.token
  // @ts-expect-error the list holds TokenInfo, not any
  const notInfo: ReadonlyArray<{ secret: string }> | undefined = listed.data?.tokens
  const code: string | undefined = created.error?.code
  return [wrong, notInfo, scopes, token, when, at, rotated.data?.info.id, code, client.$ERROR_CODES.INSUFFICIENT_SCOPE.code]
}
