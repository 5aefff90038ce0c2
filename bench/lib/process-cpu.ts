import { readdirSync, readFileSync } from 'node:fs'

/** What a process is, from its command line: a Piper role, PostgreSQL, or the rest. */
export type ProcessGroup = (cmdline: string) => string

/** CPU seconds (user + system) of every process now, by pid, with its group. */
function snapshot(group: ProcessGroup): Map<number, { group: string; seconds: number }> {
  const out = new Map<number, { group: string; seconds: number }>()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      // Fields after the command (which may hold spaces) in parentheses: utime is the 14th field.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100 // USER_HZ
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      out.set(pid, { group: group(cmdline), seconds })
    } catch {
      // Gone meanwhile.
    }
  }
  return out
}

/**
 * The CPU seconds each group of processes spent while `work` ran (processes that exited
 * meanwhile are not counted: the roles of a bench outlive its timed section).
 */
export async function cpuByProcess<T>(
  group: ProcessGroup,
  work: () => Promise<T>,
): Promise<{ result: T; seconds: Map<string, number> }> {
  const before = snapshot(group)
  const result = await work()
  const seconds = new Map<string, number>()
  for (const [pid, now] of snapshot(group)) {
    const spent = now.seconds - (before.get(pid)?.seconds ?? 0)
    if (spent > 0) seconds.set(now.group, (seconds.get(now.group) ?? 0) + spent)
  }
  return { result, seconds }
}
