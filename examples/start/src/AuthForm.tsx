/** The sign-in and sign-up form: posts to a server function, then goes where `redirect` said. */
import { Link, useHydrated, useRouter } from "@tanstack/react-router"
import { type FormEvent, useState } from "react"
import type { Credentials, Outcome } from "#/server/account"
import { Alert, message } from "#/ui"

export function AuthForm(props: {
  readonly mode: "signin" | "signup"
  readonly redirect: string | undefined
  readonly submit: (options: { data: Credentials }) => Promise<Outcome>
}) {
  const router = useRouter()
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  // Until the page is hydrated a submit would be a plain form post: wait for the script.
  const hydrated = useHydrated()
  const signup = props.mode === "signup"

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault()
    const form = new FormData(event.currentTarget)
    setBusy(true)
    setError(null)
    try {
      const outcome = await props.submit({
        data: {
          name: String(form.get("name") ?? ""),
          email: String(form.get("email") ?? ""),
          password: String(form.get("password") ?? ""),
          redirect: props.redirect
        }
      })
      if (!outcome.ok) return setError(outcome.message)
      await router.invalidate()
      await router.navigate({ href: outcome.redirectTo })
    } catch (e) {
      setError(message(e))
    } finally {
      setBusy(false)
    }
  }

  const other = signup ? { to: "/login" as const, label: "Sign in instead" } : { to: "/signup" as const, label: "Create an account" }
  return (
    <form className="card narrow" method="post" onSubmit={onSubmit}>
      {signup && (
        <label>
          Name
          <input name="name" autoComplete="name" placeholder="Ada Lovelace" />
        </label>
      )}
      <label>
        Email
        <input name="email" type="email" required autoComplete="email" placeholder="ada@example.com" />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          required
          minLength={8}
          autoComplete={signup ? "new-password" : "current-password"}
          placeholder="at least 8 characters"
        />
      </label>
      {error && <Alert>{error}</Alert>}
      <button type="submit" disabled={busy || !hydrated}>{signup ? "Create account" : "Sign in"}</button>
      <p className="muted">
        <Link to={other.to} search={props.redirect ? { redirect: props.redirect } : {}}>{other.label}</Link>
      </p>
    </form>
  )
}
