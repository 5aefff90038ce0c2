import type { PiperConfig } from '../config/index.ts'
import type { LeaderLeases, MetaStore, WebhookStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import type { Logger, Registry } from '../telemetry/index.ts'
import { WebhookDispatcher, WebhookService, webhookSenders } from '../webhooks/index.ts'
import type { Component } from './job-system.ts'
import { LeaderTask } from './leader-task.ts'

/** How often the dispatcher looks for new events (one query when there are none). */
const DISPATCH_INTERVAL_MS = 1_000

/**
 * Webhooks in a process: the API's service and the dispatcher (one of the cluster's gateways
 * at a time turns events into queued deliveries) where it serves requests, the senders where
 * it works (they drain the deliveries' queue like any task topic).
 */
export function webhookParts(
  config: Pick<PiperConfig, 'webhookAllowPrivate' | 'webhookRetryBaseMs' | 'webhookDisableAfterMs'>,
  deps: {
    meta: MetaStore & WebhookStore & LeaderLeases
    queue: Queue
    logger: Logger
    metrics: Registry
    serving: boolean
    working: boolean
  },
): { service?: WebhookService; components: Component[] } {
  const { meta, queue, logger } = deps
  const components: Component[] = []
  let service: WebhookService | undefined
  if (deps.serving) {
    service = new WebhookService({
      store: meta,
      latestEvent: () => meta.lastJobEventId(),
      allowPrivate: config.webhookAllowPrivate,
    })
    const dispatcher = new WebhookDispatcher({ meta, store: meta, queue, logger })
    components.push(
      new LeaderTask({
        name: 'webhook-dispatch',
        leases: meta,
        logger,
        intervalMs: DISPATCH_INTERVAL_MS,
        // Led for as long as it keeps passing; another gateway takes over within a minute.
        run: async (signal) => void (await dispatcher.pass(signal)),
      }),
    )
  }
  if (deps.working) {
    components.push(
      webhookSenders({
        queue,
        store: meta,
        logger,
        allowPrivate: config.webhookAllowPrivate,
        retryBaseMs: config.webhookRetryBaseMs,
        disableAfterMs: config.webhookDisableAfterMs,
        metrics: deps.metrics,
      }),
    )
  }
  return { service, components }
}
