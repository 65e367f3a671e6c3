import { createFileRoute } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { Schema } from "effect"
import { AuthForm } from "#/AuthForm"
import { Credentials, signIn } from "#/server/account"
import { Page } from "#/ui"

const signInFn = createServerFn({ method: "POST" })
  .validator(Schema.toStandardSchemaV1(Credentials))
  .handler(({ data }) => signIn(data))

export const Route = createFileRoute("/login")({
  validateSearch: (search: Record<string, unknown>): { redirect?: string } =>
    typeof search.redirect === "string" ? { redirect: search.redirect } : {},
  component: Login
})

function Login() {
  const { redirect } = Route.useSearch()
  return (
    <Page title="Sign in">
      <AuthForm mode="signin" redirect={redirect} submit={signInFn} />
    </Page>
  )
}
