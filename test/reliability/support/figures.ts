/**
 * The reliability suites' measured figures: printed as one line each and kept as JSON under
 * test-results/reliability/ (git-ignored), for the table in docs/reliability.md.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const folder = join(import.meta.dirname, "..", "..", "..", "test-results", "reliability")

export const record = (name: string, figures: Record<string, unknown>): void => {
  mkdirSync(folder, { recursive: true })
  writeFileSync(join(folder, `${name}.json`), JSON.stringify(figures, null, 2) + "\n")
  console.log(`[reliability] ${name}: ${JSON.stringify(figures)}`)
}

export const round = (n: number, digits = 1): number => Number.isFinite(n) ? Number(n.toFixed(digits)) : n

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
