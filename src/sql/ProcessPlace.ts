/**
 * Where a process lives, as a lock file records it: its start time, PID namespace and machine
 * (Linux's `/proc`; elsewhere what the OS tells), and whether a pid is still that process.
 */
import { readFileSync, readlinkSync } from "node:fs"
import { hostname } from "node:os"

/** The process start time from `/proc` (Linux). */
export const startTime = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null
  } catch {
    return null
  }
}

/** This process's PID namespace (`pid:[4026531836]` on Linux), or null where the OS has none to tell. */
const pidNamespace = (): string | null => {
  try {
    return readlinkSync("/proc/self/ns/pid")
  } catch {
    return null
  }
}

/** This machine: the kernel's boot id (Linux; shared by every container on it, unlike the host name), else the host name. */
const machineId = (): string => {
  try {
    return `boot:${readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()}`
  } catch {
    return `host:${hostname()}`
  }
}

export const here = { host: hostname(), machine: machineId(), namespace: pidNamespace() }

/** Whether `pid` is a live process here that started at `started` (when known): a reused pid is another process. */
export const pidAlive = (pid: number, started: string | null): boolean => {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false
  }
  if (started === null) return true
  const now = startTime(pid)
  return now === null || now === started
}
