/**
 * Better Auth's client in the browser, with fusion-auth's plugin: `authClient.fusionAuth.tokens.*`
 * calls the plugin's endpoints under `/api/auth` as the signed-in browser (its cookie).
 */
import { createAuthClient } from "better-auth/client"
import { fusionAuthClient } from "fusion-auth/client"

export const authClient = createAuthClient({ plugins: [fusionAuthClient()] })

/** A client call's data, or its refusal thrown with the server's message (the page shows it). */
export const unwrap = async <T,>(call: Promise<{ data: T | null; error: { message?: string | undefined; statusText: string } | null }>): Promise<T> => {
  const { data, error } = await call
  if (error !== null || data === null) throw new Error(error?.message ?? error?.statusText ?? "No answer")
  return data
}
