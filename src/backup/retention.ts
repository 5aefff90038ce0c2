/** How many backups to keep: the newest `last`, the newest of each of the last `daily` days and `weekly` weeks. */
export interface RetentionPolicy {
  last?: number
  daily?: number
  weekly?: number
}

/**
 * The backups a policy keeps, by id. Days and ISO 8601 weeks are UTC; a day or week counts only
 * when it has a backup, and its newest one is kept (as restic and borg do). The newest backup is
 * always kept, whatever the policy says.
 */
export function planRetention(
  backups: readonly { id: string; started: number }[],
  policy: RetentionPolicy,
): Set<string> {
  const newestFirst = [...backups].sort((a, b) => b.started - a.started || (a.id < b.id ? 1 : -1))
  const keep = new Set<string>()
  if (newestFirst[0]) keep.add(newestFirst[0].id)
  for (const b of newestFirst.slice(0, policy.last ?? 0)) keep.add(b.id)
  const byPeriod = (count: number | undefined, period: (ms: number) => string) => {
    const seen = new Set<string>()
    for (const b of newestFirst) {
      if (seen.size >= (count ?? 0)) return
      const p = period(b.started)
      if (seen.has(p)) continue
      seen.add(p)
      keep.add(b.id)
    }
  }
  byPeriod(policy.daily, (ms) => new Date(ms).toISOString().slice(0, 10))
  byPeriod(policy.weekly, isoWeek)
  return keep
}

/** The ISO 8601 week of a time, as `YYYY-Www` (weeks start on Monday; week 1 holds a Thursday). */
export function isoWeek(ms: number): string {
  const d = new Date(ms)
  const day = (d.getUTCDay() + 6) % 7 // Monday 0 … Sunday 6
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3)
  const year = new Date(thursday).getUTCFullYear()
  const week = Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1
  return `${year}-W${String(week).padStart(2, '0')}`
}
