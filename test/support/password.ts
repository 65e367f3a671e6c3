/**
 * Better Auth's password hashing, made cheap for tests: its default (scrypt at N=16384, r=16)
 * costs about 100 ms of CPU a call, and the suites sign up and sign in thousands of times to
 * test sessions, cookies and tokens, not passwords. Better Auth's own `emailAndPassword.password`
 * option, as an app that brings its own hash sets it; a wrong password is still refused.
 */
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (password: string) => createHash("sha256").update(`fusion-auth test:${password}`).digest()

export const testPassword = {
  hash: async (password: string) => digest(password).toString("hex"),
  verify: async ({ hash, password }: { hash: string; password: string }) => {
    const stored = Buffer.from(hash, "hex")
    const given = digest(password)
    return stored.length === given.length && timingSafeEqual(stored, given)
  }
}
