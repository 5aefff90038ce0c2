import type { HistoryStore, PrunedHistory } from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'

/** Rows of each kind one transaction deletes: short enough not to hold up other commits. */
const BATCH = 500

/**
 * History retention (`PIPER_HISTORY_RETENTION_MS`), run with garbage collection: deletes what
 * ended more than `retentionMs` ago (`HistoryStore.pruneHistory`), a batch a transaction, until
 * nothing of that age is left. 0 keeps everything.
 */
export function historyRetention(deps: {
  meta: HistoryStore
  logger: Logger
  retentionMs: number
  /** The clock (tests drive it). */
  now?: () => number
}): () => Promise<PrunedHistory> {
  const log = deps.logger.child({ component: 'history' })
  const now = deps.now ?? Date.now
  return async () => {
    const total: PrunedHistory = { runs: 0, jobs: 0, events: 0, ticks: 0, deliveries: 0 }
    if (deps.retentionMs <= 0) return total
    const before = now() - deps.retentionMs
    for (;;) {
      const pruned = await deps.meta.pruneHistory(before, BATCH)
      for (const key of Object.keys(total) as (keyof PrunedHistory)[]) total[key] += pruned[key]
      const { runs, jobs, ticks, deliveries } = pruned
      if (Math.max(runs, jobs, ticks, deliveries) < BATCH) break
    }
    if (Object.values(total).some((n) => n > 0)) {
      log.info({ ...total, before: new Date(before).toISOString() }, 'history pruned')
    }
    return total
  }
}
