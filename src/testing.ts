/**
 * fusion-auth/testing: what an app's tests swap in. A fixed resolver
 * (`SessionResolver.layerTest`) or caller (`CurrentSession.layerTest`), the stores in memory
 * (`Stores.layerMemory`, with `MemoryDatabase.addUser`), and `signUpFixture`: a real user, a
 * token and a cookie in one call, for tests that run the app's own Better Auth.
 *
 * @module fusion-auth/testing
 */
export { SessionResolver } from "./services/SessionResolver.ts"
export { CurrentSession } from "./services/CurrentSession.ts"
export * as Stores from "./services/Stores.ts"
export { MemoryDatabase } from "./memory/MemoryDatabase.ts"
export type { TokenRecord } from "./core/Tables.ts"
export { type Fixture, type FixtureOptions, signUpFixture } from "./runtime/Fixture.ts"
