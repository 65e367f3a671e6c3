/**
 * Headless Chromium: Debian's `chromium` package driven by playwright-core (`npx playwright
 * install` cannot download a browser here). CHROMIUM_PATH overrides the executable.
 */
import { existsSync } from "node:fs"
import { type Browser, chromium } from "playwright-core"

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

export const launch = async (): Promise<Browser> => {
  if (!existsSync(executablePath)) {
    throw new Error(`No Chromium at ${executablePath}. Install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH.`)
  }
  // playwright gives each launch a fresh, temporary user-data-dir. Without the background
  // networking flags, Chromium misbehaves on a machine with no network.
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}
