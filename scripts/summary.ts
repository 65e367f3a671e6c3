/**
 * Reads Vitest's JSON report and prints what CI should show: tests per backend, and the
 * plain closing line `N passed, N failed, N skipped`.
 */
import { readFileSync } from "node:fs"

interface Report {
  readonly testResults: ReadonlyArray<{
    readonly assertionResults: ReadonlyArray<{ readonly fullName: string; readonly status: string }>
  }>
}

const report = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Report
const tests = report.testResults.flatMap((file) => file.assertionResults)
const count = (status: string) => tests.filter((t) => t.status === status).length
for (const backend of ["memory", "pglite", "postgres"]) {
  const mine = tests.filter((t) => new RegExp(`\\b${backend}\\b`).test(t.fullName))
  console.log(`${backend}: ${mine.filter((t) => t.status === "passed").length} passed of ${mine.length}`)
}
const skipped = count("skipped") + count("pending") + count("todo")
console.log(`${count("passed")} passed, ${count("failed")} failed${skipped ? `, ${skipped} skipped` : ""}`)
