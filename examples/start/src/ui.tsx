/** The few pieces of UI the pages share. */
import { useRouter } from "@tanstack/react-router"
import { type ReactNode, useState } from "react"

export function Page({ title, children }: { readonly title: string; readonly children: ReactNode }) {
  return (
    <section className="page">
      <h1>{title}</h1>
      {children}
    </section>
  )
}

export function Alert({ kind = "error", children }: { readonly kind?: "error" | "info"; readonly children: ReactNode }) {
  return <p className={`alert ${kind}`} role={kind === "error" ? "alert" : "status"}>{children}</p>
}

export const when = (date: Date | string | null | undefined, otherwise = "—"): string =>
  date == null ? otherwise : new Date(date).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC"

export const message = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/**
 * Runs a server function from a button or form: shows its error and reloads the page's data
 * after it. (Wrapped in `useServerFn`, a server function's redirect, such as the login page
 * for a browser signed out meanwhile, is followed by the router.)
 */
export function useAction() {
  const router = useRouter()
  const [error, setError] = useState<string | null>(null)
  const act = async <A,>(call: () => Promise<A>): Promise<A | undefined> => {
    setError(null)
    try {
      const result = await call()
      await router.invalidate()
      return result
    } catch (e) {
      setError(message(e))
      return undefined
    }
  }
  return { error, act }
}
