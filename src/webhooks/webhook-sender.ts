import type { WebhookStore } from '../meta/index.ts'
import type { Queue, QueueMessage } from '../queue/index.ts'
import type { Logger, Registry } from '../telemetry/index.ts'
import { WorkerRuntime } from '../worker/index.ts'
import { postWebhook } from './post-webhook.ts'
import { signWebhook } from './signature.ts'
import { type DeliveryMessage, WEBHOOK_TOPIC } from './webhook-dispatcher.ts'

export interface WebhookSenderOptions {
  queue: Queue
  store: WebhookStore
  logger: Logger
  /** Whether loopback and private addresses may be targets (`webhookAllowPrivate`). */
  allowPrivate: boolean
  /** The first retry's delay; each next one doubles (with jitter) up to an hour. */
  retryBaseMs: number
  /** An endpoint whose deliveries have all failed for this long is disabled (a day). */
  disableAfterMs: number
  timeoutMs?: number
  /** Deliveries sent at once. */
  concurrency?: number
  metrics?: Registry
  now?: () => number
}

const MAX_RETRY_MS = 3_600_000
const GROUP = 'webhook-senders'

type Delivery = DeliveryMessage & { attempt: number }

/**
 * Sends the deliveries the dispatcher queued: each a signed POST (Standard Webhooks), logged per
 * attempt. A failure is retried by the queue with exponential backoff and jitter; once an
 * endpoint's deliveries have failed for `disableAfterMs` it is disabled (its state says why),
 * and what is still queued for it is dropped. A disabled or deleted webhook gets nothing more.
 */
export function webhookSenders(options: WebhookSenderOptions): WorkerRuntime<unknown> {
  const sender = new WebhookSender(options)
  return new WorkerRuntime<Delivery>({
    queue: options.queue,
    logger: options.logger,
    topic: WEBHOOK_TOPIC,
    group: GROUP,
    concurrency: options.concurrency ?? 8,
    consumer: {
      backoffMs: options.retryBaseMs,
      maxBackoffMs: MAX_RETRY_MS,
      // Retries stop when the endpoint is disabled, not after a count.
      maxDeliver: 10_000,
      ackWaitMs: 3 * (options.timeoutMs ?? 10_000),
    },
    metrics: options.metrics,
    decode: (message: QueueMessage) => ({
      ...(JSON.parse(Buffer.from(message.payload).toString('utf8')) as DeliveryMessage),
      attempt: message.deliveries,
    }),
    handle: (delivery) => sender.send(delivery),
    giveUp: async (delivery, error) => {
      if (delivery) await sender.disable(delivery, `retries ran out: ${(error as Error).message}`)
    },
    isPermanent: () => false,
  }) as WorkerRuntime<unknown>
}

export class WebhookSender {
  readonly #o: WebhookSenderOptions
  readonly #now: () => number
  readonly #log: Logger

  constructor(options: WebhookSenderOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.#log = options.logger.child({ component: 'webhooks' })
  }

  /** One attempt; throws when it failed and should be retried. */
  async send(delivery: Delivery): Promise<void> {
    const { store } = this.#o
    const hook = await store.getWebhook(delivery.client, delivery.webhook)
    if (hook?.state !== 'active') return
    const now = this.#now()
    const id = `msg_${delivery.webhook.slice(3)}_${delivery.event}`
    const timestamp = Math.floor(now / 1000)
    const body = JSON.stringify({
      type: delivery.type,
      timestamp: new Date(delivery.timestamp).toISOString(),
      data: delivery.data,
    })
    const secrets = [hook.secret]
    if (hook.previousSecret && (hook.previousUntil ?? 0) > now) secrets.push(hook.previousSecret)
    const outcome = await postWebhook(
      hook.url,
      body,
      {
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': secrets.map((s) => signWebhook(s, id, timestamp, body)).join(' '),
      },
      {
        allowPrivate: this.#o.allowPrivate,
        timeoutMs: this.#o.timeoutMs ?? 10_000,
        now: this.#now,
      },
    )
    await store.addDelivery({
      webhookId: hook.id,
      messageId: id,
      eventType: delivery.type,
      attempt: delivery.attempt,
      status: outcome.status,
      error: outcome.error,
      durationMs: outcome.durationMs,
      created: now,
    })
    const ok = outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300
    if (ok) {
      if (hook.failingSince !== undefined) {
        await store.updateWebhook(hook.id, { failingSince: undefined }, now)
      }
      return
    }
    const why = outcome.status === undefined ? outcome.error : `HTTP ${outcome.status}`
    const failingSince = hook.failingSince ?? now
    if (now - failingSince >= this.#o.disableAfterMs) {
      await this.disable(
        delivery,
        `every delivery failed since ${new Date(failingSince).toISOString()}; the last: ${why}`,
      )
      return
    }
    if (hook.failingSince === undefined) await store.updateWebhook(hook.id, { failingSince }, now)
    throw new Error(`delivery ${id} to ${hook.url} failed: ${why}`)
  }

  async disable(delivery: Delivery, reason: string): Promise<void> {
    const now = this.#now()
    await this.#o.store.updateWebhook(
      delivery.webhook,
      { state: 'disabled', disabledReason: reason },
      now,
    )
    this.#log.warn(
      { webhook: delivery.webhook, client: delivery.client, reason },
      'webhook disabled',
    )
  }
}
