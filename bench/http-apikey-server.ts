/**
 * Better Auth alone with `@better-auth/api-key`, served by Better Auth's own Node handler:
 * the HTTP comparison's API-key contender (`GET /api/auth/get-session` with `x-api-key`).
 * Its rate limits are off (its best case), as in the in-process comparison.
 *
 *   DATABASE_URL=… PORT=… node bench/http-apikey-server.ts
 *
 * Prints `listening <port>` once it listens.
 */
import { toNodeHandler } from "better-auth/node"
import { createServer } from "node:http"
import pg from "pg"
import { keyAuth } from "./auth.ts"

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 })
pool.on("error", () => undefined)
const auth = keyAuth(pool, false, { rateLimit: { enabled: false }, baseURL: `http://127.0.0.1:${process.env.PORT}` })
const server = createServer(toNodeHandler(auth))
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`listening ${process.env.PORT}`))
const stop = () => server.close(() => void pool.end().finally(() => process.exit(0)))
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
