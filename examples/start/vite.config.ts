/**
 * The example app: TanStack Start on Vite. `fusion-auth` is this repository's own source, so
 * the app always runs the library as it is now; `#/…` is `src/…` (package.json "imports").
 */
import { tanstackStart } from "@tanstack/react-start/plugin/vite"
import viteReact from "@vitejs/plugin-react"
import { fileURLToPath } from "node:url"
import { defineConfig, isRunnableDevEnvironment, type Plugin } from "vite"

const root = fileURLToPath(new URL(".", import.meta.url))

/**
 * Dev only: run the start-up work (migrations) as soon as the server listens rather than on
 * the first request, and close the database cleanly when the server stops.
 */
const startupAndShutdown = (): Plugin => ({
  name: "fusion-auth-example:lifecycle",
  apply: "serve",
  configureServer(server) {
    const startup = () => {
      const ssr = server.environments.ssr
      if (ssr === undefined || !isRunnableDevEnvironment(ssr)) return undefined
      return ssr.runner.import<typeof import("./src/lib/startup.ts")>("/src/lib/startup.ts")
    }
    server.httpServer?.once("listening", async () => {
      try {
        await (await startup())?.ready()
        const url = server.resolvedUrls?.local[0] ?? "http://localhost:3000/"
        server.config.logger.info(`\n  fusion-auth example ready: open ${url}signup (the first account becomes the site admin)\n`)
      } catch (error) {
        server.config.logger.error(`fusion-auth example: start-up failed: ${error instanceof Error ? error.stack : String(error)}`)
      }
    })
    const close = server.close.bind(server)
    server.close = async () => {
      await (await startup())?.shutdown().catch(() => undefined)
      await close()
    }
  }
})

export default defineConfig({
  root,
  // One node_modules, at the repository root: keep Vite's dependency cache there too.
  cacheDir: fileURLToPath(new URL("../../node_modules/.vite/example-start", import.meta.url)),
  resolve: {
    alias: [
      { find: /^fusion-auth$/, replacement: fileURLToPath(new URL("../../src/index.ts", import.meta.url)) },
      { find: /^fusion-auth\/(.+)$/, replacement: fileURLToPath(new URL("../../src/", import.meta.url)) + "$1.ts" }
    ]
  },
  server: { host: "127.0.0.1", port: Number(process.env.PORT ?? 3000), strictPort: false },
  preview: { host: "127.0.0.1" },
  build: { outDir: "dist" },
  plugins: [tanstackStart(), viteReact(), startupAndShutdown()]
})
