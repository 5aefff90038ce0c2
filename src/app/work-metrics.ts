import type { JobRecord, MetaCalls } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import { Counter, Gauge, Histogram, type Registry } from '../telemetry/index.ts'

/**
 * Jobs as they end, by kind and final state: a counter and how long each took from creation.
 * Wraps the job-end listener; each job ends once (its state change is a compare-and-set), so
 * it is counted once in the cluster, by the process that ended it.
 */
export function countEndedJobs(
  registry: Registry,
  next: (job: JobRecord) => Promise<void>,
): (job: JobRecord) => Promise<void> {
  const ended = new Counter({
    name: 'piper_jobs_ended_total',
    help: 'Jobs that ended here, by kind and final state (succeeded, failed, cancelled)',
    labelNames: ['kind', 'state'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'piper_job_duration_seconds',
    help: 'Jobs that ended here, from their creation to their end, by kind and final state',
    labelNames: ['kind', 'state'],
    buckets: [0.05, 0.25, 1, 5, 30, 120, 600, 3600],
    registers: [registry],
  })
  return async (job) => {
    ended.inc({ kind: job.type, state: job.state })
    duration.observe(
      { kind: job.type, state: job.state },
      Math.max(0, job.updated - job.created) / 1000,
    )
    await next(job)
  }
}

/**
 * The queue's depth as a scrape reads it (`queue.stats()`, one call per scrape): messages per
 * topic, and per consumer group the lag (not acknowledged) and pending (delivered, not yet
 * acknowledged). Topics are Piper's own (a kind's, a shard's, `runs.advance`, dead letters).
 */
export function queueMetrics(registry: Registry, queue: Pick<Queue, 'stats'>): void {
  const lag = new Gauge({
    name: 'piper_queue_lag_messages',
    help: 'Messages a consumer group has not acknowledged yet, by topic and group',
    labelNames: ['topic', 'group'],
    registers: [registry],
  })
  const pending = new Gauge({
    name: 'piper_queue_pending_messages',
    help: 'Messages delivered to a consumer group and awaiting their ack, by topic and group',
    labelNames: ['topic', 'group'],
    registers: [registry],
  })
  new Gauge({
    name: 'piper_queue_messages',
    help: 'Messages a topic holds, by topic',
    labelNames: ['topic'],
    registers: [registry],
    async collect() {
      this.reset()
      lag.reset()
      pending.reset()
      for (const t of await queue.stats().catch(() => [])) {
        this.set({ topic: t.topic }, t.messages)
        for (const g of t.groups) {
          lag.set({ topic: t.topic, group: g.group }, g.lag)
          pending.set({ topic: t.topic, group: g.group }, g.pending)
        }
      }
    },
  })
}

/** The state of each remote dependency's circuit breaker: 0 closed, 1 open, 2 half-open. */
export function breakerMetrics(
  registry: Registry,
  breakers: { all(): readonly { name: string; state: 'closed' | 'open' | 'half-open' }[] },
): void {
  const value = { closed: 0, open: 1, 'half-open': 2 } as const
  new Gauge({
    name: 'piper_dependency_circuit_state',
    help: 'Circuit breaker of a remote dependency: 0 closed (calls go through), 1 open (calls fail at once), 2 half-open (one call tries)',
    labelNames: ['dependency'],
    registers: [registry],
    collect() {
      // Read at each scrape: a storage node's breaker is made when the node is first called.
      for (const b of breakers.all()) this.set({ dependency: b.name }, value[b.state])
    },
  })
}

/**
 * What this process asked of the metadata database, read at each scrape: statements (with
 * PostgreSQL each a round trip; `BEGIN` and `COMMIT` included) and commits. Per job, they say
 * how much database work a step costs, and which process spends it.
 */
export function metaMetrics(registry: Registry, meta: MetaCalls): void {
  const counted = { statements: 0, commits: 0 }
  for (const [which, help] of [
    [
      'statements',
      'Statements this process ran on the metadata store (BEGIN and COMMIT included; with PostgreSQL, each a round trip)',
    ],
    [
      'commits',
      'Transactions this process committed on the metadata store, and writes outside a transaction',
    ],
  ] as const) {
    new Counter({
      name: `piper_meta_${which}_total`,
      help,
      registers: [registry],
      collect() {
        const now = meta.metaCalls()[which]
        this.inc(now - counted[which])
        counted[which] = now
      },
    })
  }
}
