import { createRouter, Link } from "@tanstack/react-router"
import { routeTree } from "./routeTree.gen"
import { Page } from "./ui"

export function getRouter() {
  return createRouter({
    routeTree,
    scrollRestoration: true,
    defaultNotFoundComponent: () => (
      <Page title="Not found">
        <p>There is no page here. Go to the <Link to="/dashboard">dashboard</Link>.</p>
      </Page>
    )
  })
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof getRouter>
  }
}
