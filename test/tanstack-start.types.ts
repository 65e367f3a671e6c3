/**
 * Type test (checked by `tsc`, never run): the Start middleware carries the app's own Better
 * Auth `user` type to `context.session`, `additionalFields` included, and a wrong use fails.
 */
import { createMiddleware, createServerFn } from "@tanstack/react-start"
import { betterAuth } from "better-auth"
import { createAuthSession, fusionAuth, type Session } from "../src/index.ts"
import { startMiddleware } from "../src/tanstack-start.ts"

const auth = betterAuth({
  user: { additionalFields: { role: { type: "string", required: false, input: false, defaultValue: "member" } } },
  plugins: [fusionAuth()]
})
const authSession = createAuthSession(auth)

const { sessionMiddleware, requireSessionMiddleware, sessionRequestMiddleware, requireSessionRequestMiddleware } =
  startMiddleware(() => authSession)

export const email = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => context.session.user.email)

export const role = createServerFn()
  .middleware([requireSessionMiddleware])
  .handler(({ context }) => {
    const role: string | null | undefined = context.session.user.role
    const deactivatedAt: Date | null | undefined = context.session.user.deactivatedAt
    // @ts-expect-error `role` is a string, not a number
    const wrong: number = context.session.user.role
    // @ts-expect-error a field the app never declared
    context.session.user.nickname
    return { role, deactivatedAt, wrong }
  })

export const optional = createServerFn()
  .middleware([sessionMiddleware])
  .handler(({ context }) => {
    // @ts-expect-error `sessionMiddleware` may give `null`: check it first
    context.session.user.email
    const session: Session<{ readonly email: string }, unknown> | null = context.session
    return context.session?.user.role ?? session?.user.email ?? null
  })

// @ts-expect-error without the middleware there is no `context.session`
export const unguarded = createServerFn().handler(({ context }) => context?.session)

export const fromRequest = createMiddleware()
  .middleware([requireSessionRequestMiddleware])
  .server(({ context, next }) => next({ context: { email: context.session.user.email, role: context.session.user.role } }))

export const fromOptionalRequest = createMiddleware()
  .middleware([sessionRequestMiddleware])
  // @ts-expect-error `sessionRequestMiddleware` may give `null`
  .server(({ context, next }) => next({ context: { email: context.session.user.email } }))

// @ts-expect-error the getter must return the runtime of `createAuthSession`, not the auth instance
startMiddleware(() => auth)
