/**
 * The layout of src/ holds: no import cycle, no file over 300 lines, `core/` imports nothing
 * but itself and `effect` (and Node built-ins), every SQL statement lives under `sql/`, and
 * `core/Version.ts` names package.json's version.
 */
import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

const src = join(import.meta.dirname, "..", "src")
const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts")).map((f) => join(src, f))
const text = new Map(files.map((file) => [file, readFileSync(file, "utf8")]))
const name = (file: string) => relative(src, file)

/** Every specifier a file imports or re-exports, static, dynamic or `require`d, type-only included. */
const specifiers = (source: string) =>
  [
    ...source.matchAll(
      /(?:^|\n)\s*(?:import|export)\s[^"'`;]*?from\s+["']([^"']+)["']|(?:\bimport|\brequire)\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s+["']([^"']+)["']/g
    )
  ].map((m) => (m[1] ?? m[2] ?? m[3])!)

/** SQL in a file: a `sql` template, or text handed to the client raw (`sql.unsafe`, `.unsafe(…)`). */
const hasSql = (source: string) => /\bsql(?:<[^>]*>)?`/.test(source) || /\.unsafe\s*(?:<[^>]*>)?\s*\(/.test(source)

const localImports = (file: string) =>
  specifiers(text.get(file)!).filter((s) => s.startsWith(".")).map((s) => resolve(dirname(file), s))

/** The cycles a depth-first walk meets, each as `a -> b -> a`. */
const cycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const found: Array<string> = []
  const done = new Set<string>()
  const path: Array<string> = []
  const visit = (file: string) => {
    path.push(file)
    for (const next of graph.get(file) ?? []) {
      if (path.includes(next)) found.push([...path.slice(path.indexOf(next)), next].map(name).join(" -> "))
      else if (!done.has(next) && graph.has(next)) visit(next)
    }
    path.pop()
    done.add(file)
  }
  for (const file of graph.keys()) if (!done.has(file)) visit(file)
  return found
}

describe("layout of src/", () => {
  it("finds a cycle when there is one", () => {
    const graph = new Map([[join(src, "a.ts"), [join(src, "b.ts")]], [join(src, "b.ts"), [join(src, "a.ts")]]])
    assert.deepStrictEqual(cycles(graph), ["a.ts -> b.ts -> a.ts"])
    assert.deepStrictEqual(specifiers(`import type { X } from "./x.ts"\nexport * as Y from "../y.ts"\nawait import("./z.ts")`), [
      "./x.ts", "../y.ts", "./z.ts"
    ])
    assert.deepStrictEqual(specifiers(`const pg = require("pg")\nimport "node:crypto"\nconst { createRequire } = x`), ["pg", "node:crypto"])
    assert.isTrue(hasSql("yield* sql`select 1`"))
    assert.isTrue(hasSql(`client.unsafe<Row>("select * from " + table)`))
    assert.isTrue(hasSql(`sql.unsafe ("delete from x")`))
    assert.isFalse(hasSql("const unsafeValue = 1"))
  })

  it("has no import cycle", () => {
    assert.isAbove(files.length, 20)
    assert.deepStrictEqual(cycles(new Map(files.map((file) => [file, localImports(file)]))), [])
  })

  it("has no file over 300 lines", () => {
    const long = files.filter((file) => text.get(file)!.split("\n").length > 301).map(name)
    assert.deepStrictEqual(long, [])
  })

  it("keeps core/ pure: it imports only core/, effect and Node built-ins", () => {
    const impure = files.filter((file) => name(file).startsWith("core/")).flatMap((file) =>
      specifiers(text.get(file)!)
        .filter((s) => s.startsWith(".") ? !resolve(dirname(file), s).startsWith(join(src, "core")) : !/^(effect|node:)/.test(s))
        .map((s) => `${name(file)}: ${s}`)
    )
    assert.deepStrictEqual(impure, [])
  })

  it("keeps every SQL statement under sql/", () => {
    const outside = files.filter((file) => !name(file).startsWith("sql/") && hasSql(text.get(file)!)).map(name)
    assert.deepStrictEqual(outside, [])
  })

  it("names package.json's version in core/Version.ts", async () => {
    const { VERSION } = await import("../src/core/Version.ts")
    const { version } = JSON.parse(readFileSync(join(src, "..", "package.json"), "utf8")) as { version: string }
    assert.strictEqual(VERSION, version)
  })
})
