/** The one place the app tells the two credentials apart (docs/sessions.md, "The resolved shape"). */
import type { Session } from "fusion-auth"

export type Via = "cookie" | "token"

export const via = (session: Session<unknown, unknown>): Via => (session.session === null ? "token" : "cookie")

export const describeCaller = (session: Session<{ readonly email: string }, unknown>): string =>
  via(session) === "token" ? `${session.user.email} (API token)` : `${session.user.email} (browser session)`
