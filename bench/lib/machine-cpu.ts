import { readFileSync } from 'node:fs'

/** The machine's CPU time so far from /proc/stat (all cores, in clock ticks): busy and total. */
function ticks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guests are in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number) as number[]
  const busy = user! + nice! + system! + irq! + softirq! + steal!
  return { busy, total: busy + idle! + iowait! }
}

/**
 * Measures the whole machine while `work` runs: the share of all cores busy (1 = every core all
 * the time) and the CPU seconds spent, by every process (the bench's own client included).
 */
export async function machineCpu<T>(
  work: () => Promise<T>,
): Promise<{ result: T; busy: number; cpuSeconds: number }> {
  const before = ticks()
  const result = await work()
  const after = ticks()
  const hz = 100 // USER_HZ: the kernel reports /proc/stat in hundredths of a second
  const busy = (after.busy - before.busy) / Math.max(1, after.total - before.total)
  return { result, busy, cpuSeconds: (after.busy - before.busy) / hz }
}
