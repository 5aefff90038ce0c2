import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { LeaderLeases } from '../meta/index.ts'

/** A name for this process as a lease holder: host, pid and a random part (pids are reused). */
export function leaseHolder(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
}

/** Whether `holder` (from `leaseHolder`) names a process of this host that no longer runs. */
export function holderIsDead(holder: string): boolean {
  const [host, pid] = holder.split(':')
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (error) {
    // EPERM: the process exists (another user's); only ESRCH says it is gone.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/**
 * Takes or renews the lease `name` for `holder`; true when it leads. A holder that was a process
 * of this host which is gone (killed) gives the lease up now, rather than when its lease runs out.
 */
export async function leadOrReclaim(
  leases: LeaderLeases,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  if (await leases.lead(name, holder, ttlMs)) return true
  const current = await leases.holderOf(name)
  if (current === undefined || !holderIsDead(current)) return false
  await leases.resign(name, current)
  return leases.lead(name, holder, ttlMs)
}

/**
 * Runs `fn` while `holder` holds the lease `name`, renewed every third of `ttlMs`, and gives it
 * up after; `fn` does not run when another process holds the lease (`led: false`).
 * `onDecided` hears the outcome before `fn` starts.
 */
export async function withLease<T>(
  o: {
    leases: LeaderLeases
    name: string
    holder: string
    ttlMs: number
    onDecided?: (led: boolean) => void
    /** Keep the lease after `fn` (a task that leads again at its next interval). */
    keep?: boolean
  },
  fn: () => Promise<T>,
): Promise<{ led: false } | { led: true; value: T }> {
  const led = await leadOrReclaim(o.leases, o.name, o.holder, o.ttlMs)
  o.onDecided?.(led)
  if (!led) return { led: false }
  const renew = setInterval(() => {
    o.leases.lead(o.name, o.holder, o.ttlMs).catch(() => {})
  }, o.ttlMs / 3)
  renew.unref()
  try {
    return { led: true, value: await fn() }
  } finally {
    clearInterval(renew)
    if (!o.keep) await o.leases.resign(o.name, o.holder).catch(() => {})
  }
}
