import { createFileRoute } from "@tanstack/react-router"
import { createServerFn } from "@tanstack/react-start"
import { Schema } from "effect"
import { AuthForm } from "#/AuthForm"
import { Credentials, signUp } from "#/server/account"
import { Alert, Page } from "#/ui"

const signUpFn = createServerFn({ method: "POST" })
  .validator(Schema.toStandardSchemaV1(Credentials))
  .handler(({ data }) => signUp(data))

export const Route = createFileRoute("/signup")({
  validateSearch: (search: Record<string, unknown>): { redirect?: string } =>
    typeof search.redirect === "string" ? { redirect: search.redirect } : {},
  component: SignUp
})

function SignUp() {
  const { redirect } = Route.useSearch()
  return (
    <Page title="Create an account">
      <Alert kind="info">The first account created on this server becomes its site admin.</Alert>
      <AuthForm mode="signup" redirect={redirect} submit={signUpFn} />
    </Page>
  )
}
