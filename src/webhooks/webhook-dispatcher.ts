import { eventJson } from '../jobs/index.ts'
import type { JobEvent, MetaStore, WebhookRecord, WebhookStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { wantsEvent, webhookEventName } from './event-names.ts'

/** The queue topic deliveries travel on, and the consumer group that sends them. */
export const WEBHOOK_TOPIC = 'webhooks'
const CURSOR = 'webhooks'
const PAGE = 500

/** A delivery as it travels on the queue: one event for one webhook. */
export interface DeliveryMessage {
  client: string
  webhook: string
  /** The event's id in the history: with the webhook, the delivery's identity. */
  event: number
  type: string
  /** When the event happened (ms since the epoch). */
  timestamp: number
  /** The event as SSE and polling show it (`eventJson`). */
  data: Record<string, unknown>
}

export interface WebhookDispatcherOptions {
  meta: Pick<MetaStore, 'jobEvents' | 'lastJobEventId'>
  store: WebhookStore
  queue: Queue
  logger: Logger
}

/**
 * Turns the event history into deliveries: reads the events after its cursor (the history is
 * written in the same transaction as every change, so nothing is missed), publishes one queue
 * message per event and webhook that wants it, then moves the cursor. Run by one process of the
 * cluster at a time (a `LeaderTask`). A crash between publishing and moving the cursor publishes
 * again: the queue's idempotency key (webhook and event) drops repeats within its window, and the
 * `webhook-id` a receiver sees is the same, as Standard Webhooks asks receivers to deduplicate on.
 */
export class WebhookDispatcher {
  readonly #o: WebhookDispatcherOptions
  #topicReady = false

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options
  }

  /** Publishes the deliveries of every event written since the last pass; how many. */
  async pass(signal?: AbortSignal): Promise<number> {
    const { meta, store, queue } = this.#o
    let cursor = await store.eventCursor(CURSOR)
    let hooks: Map<string, WebhookRecord[]> | undefined
    if (cursor === undefined) {
      // The first pass ever: from the oldest webhook's creation (each gets what came after it),
      // or from now when there is none, so the history before webhooks is not replayed.
      hooks = await this.#activeByClient()
      const starts = [...hooks.values()].flat().map((hook) => hook.afterEvent)
      cursor = starts.length > 0 ? Math.min(...starts) : await meta.lastJobEventId()
      await store.setEventCursor(CURSOR, cursor)
    }
    let published = 0
    for (;;) {
      if (signal?.aborted) break
      const events = await meta.jobEvents({ after: cursor, limit: PAGE })
      if (events.length === 0) break
      hooks ??= await this.#activeByClient()
      if (!this.#topicReady) {
        await queue.ensureTopic(WEBHOOK_TOPIC)
        this.#topicReady = true
      }
      for (const event of events) published += await this.#publish(event, hooks)
      cursor = events[events.length - 1]!.id
      await store.setEventCursor(CURSOR, cursor)
      if (events.length < PAGE) break
    }
    if (published > 0) this.#o.logger.debug({ published }, 'webhook deliveries queued')
    return published
  }

  /** Queues the event for each of its client's webhooks that wants it; how many. */
  async #publish(event: JobEvent, hooks: Map<string, WebhookRecord[]>): Promise<number> {
    const type = webhookEventName(event)
    if (type === undefined) return 0
    let published = 0
    for (const hook of hooks.get(event.clientId) ?? []) {
      if (event.id <= hook.afterEvent || !wantsEvent(hook.events, type)) continue
      const message: DeliveryMessage = {
        client: event.clientId,
        webhook: hook.id,
        event: event.id,
        type,
        timestamp: event.created,
        data: eventJson(event),
      }
      await this.#o.queue.publish(WEBHOOK_TOPIC, Buffer.from(JSON.stringify(message)), {
        idempotencyKey: `${hook.id}:${event.id}`,
      })
      published++
    }
    return published
  }

  async #activeByClient(): Promise<Map<string, WebhookRecord[]>> {
    const byClient = new Map<string, WebhookRecord[]>()
    for (const hook of await this.#o.store.listWebhooks(undefined)) {
      byClient.set(hook.clientId, [...(byClient.get(hook.clientId) ?? []), hook])
    }
    return byClient
  }
}
