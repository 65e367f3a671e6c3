/**
 * `/admin`: every user, and deactivation, for site admins (`requireSiteAdmin`); the choke
 * point then refuses a deactivated user's cookies and tokens on their very next request.
 */
import { type AppSession, users } from "#/lib/auth"
import { requireSiteAdmin, roleOf } from "#/lib/admin"

export interface UserRow {
  readonly id: string
  readonly name: string
  readonly email: string
  readonly role: string
  readonly createdAt: Date
  readonly deactivatedAt: Date | null
}

export const listUsers = async (session: AppSession) => {
  const admin = requireSiteAdmin(session)
  const all = await users.list()
  return {
    me: admin.user.id,
    users: all.map((u): UserRow => ({
      id: u.id,
      name: u.name,
      email: u.email,
      role: roleOf(u),
      createdAt: u.createdAt,
      deactivatedAt: u.deactivatedAt ?? null
    }))
  }
}

/** Deactivates or reactivates a user; the admin is recorded as the actor in fusion-auth's audit log. */
export const setActive = async (session: AppSession, input: { readonly userId: string; readonly active: boolean }) => {
  const admin = requireSiteAdmin(session)
  if (input.userId === admin.user.id && !input.active) throw new Error("You cannot deactivate your own account.")
  await (input.active ? users.reactivate(input.userId, admin.user.id) : users.deactivate(input.userId, admin.user.id))
}
