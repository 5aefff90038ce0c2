import type { LeaderLeases, MetaStore, UsageStore, WebhookStore } from '../meta/index.ts'
import { GRANULARITIES } from '../meta/index.ts'
import { USAGE_RETENTION_MS, UsageAggregator } from '../stats/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { LeaderTask } from './leader-task.ts'

/** How often the statistics catch up with the event history. */
const AGGREGATE_INTERVAL_MS = 2_000

/**
 * Usage statistics in a process that serves requests: the aggregator, led by one process of the
 * cluster at a time; the routes' view of the store; and the pruning of old buckets, run with
 * garbage collection.
 */
export function usageStats(deps: {
  meta: MetaStore & UsageStore & WebhookStore & LeaderLeases
  logger: Logger
}) {
  const { meta, logger } = deps
  const aggregator = new UsageAggregator({ meta, store: meta, logger })
  const task = new LeaderTask({
    name: 'usage-stats',
    leases: meta,
    logger,
    intervalMs: AGGREGATE_INTERVAL_MS,
    run: async (signal) => void (await aggregator.pass(signal)),
  })
  const prune = async () => {
    for (const granularity of GRANULARITIES) {
      const keep = USAGE_RETENTION_MS[granularity]
      if (Number.isFinite(keep)) await meta.pruneUsage(granularity, Date.now() - keep)
    }
  }
  return {
    task,
    routes: {
      store: meta,
      latestEvent: () => meta.lastJobEventId(),
      rebuild: () => aggregator.rebuild(),
    },
    prune,
  }
}
