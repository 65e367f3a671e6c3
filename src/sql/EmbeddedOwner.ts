/**
 * Reaching the live owner of an embedded folder from another process (the CLI): where its
 * server listens, as its lock says, followed only to a socket of this machine.
 */
import { existsSync } from "node:fs"
import { isAbsolute, join } from "node:path"
import { EmbeddedDatabaseInUse, liveOwner, type Owner, sleep, whereabouts } from "./EmbeddedLock.ts"
import { socketUrl } from "./EmbeddedServer.ts"
import { RESTORING } from "./EmbeddedUpgrade.ts"

/**
 * The URL to reach the owner's server by, from here: its socket in the folder, or in the
 * absolute folder the lock names; a lock of an earlier release gives a loopback URL. Anything
 * else (a lock someone else wrote) is not followed.
 */
const reach = (dataDir: string, owner: Owner): string => {
  if (owner.socket === ".") return socketUrl(dataDir)
  if (owner.socket !== null && isAbsolute(owner.socket)) return socketUrl(owner.socket)
  const url = owner.url !== null && URL.canParse(owner.url) ? new URL(owner.url) : undefined
  if (owner.socket === null && url !== undefined && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return owner.url!
  throw new EmbeddedDatabaseInUse({ dataDir, owner: `${whereabouts(owner)}, whose lock names no server of this machine` })
}

/**
 * Waits for the live owner to publish its server (it does once it listens), and answers the
 * URL to reach it by from here; undefined when the owner went away meanwhile. An owner still
 * restoring an earlier release's folder (`EmbeddedUpgrade`: its `pgdata.tmp/` is there) is
 * waited for past `timeoutMs`, for as long as it lives.
 */
export const ownerUrl = async (dataDir: string, owner: Owner, timeoutMs = 15_000): Promise<string | undefined> => {
  const deadline = Date.now() + timeoutMs
  let current: Owner | undefined = owner
  while (current !== undefined && current.url === null) {
    if (Date.now() > deadline && !existsSync(join(dataDir, RESTORING))) {
      throw new EmbeddedDatabaseInUse({ dataDir, owner: `${whereabouts(owner)}, which has not published its server` })
    }
    await sleep(50)
    current = liveOwner(dataDir)
  }
  return current === undefined ? undefined : reach(dataDir, current)
}
