export type WebhookState = 'active' | 'disabled'

/** A client's webhook endpoint as stored. */
export interface WebhookRecord {
  id: string
  clientId: string
  url: string
  /** Event names and patterns (`job.*`, `*`) it wants. */
  events: string[]
  /** `whsec_…` (Standard Webhooks): signs every delivery. */
  secret: string
  /** The secret before the last rotation, still signing until `previousUntil`. */
  previousSecret: string | undefined
  previousUntil: number | undefined
  state: WebhookState
  disabledReason: string | undefined
  /** When the current run of failed deliveries began; undefined while deliveries succeed. */
  failingSince: number | undefined
  /** Events up to this id came before the webhook: none of them is sent to it. */
  afterEvent: number
  created: number
  updated: number
}

export type WebhookPatch = Partial<
  Pick<
    WebhookRecord,
    'secret' | 'previousSecret' | 'previousUntil' | 'state' | 'disabledReason' | 'failingSince'
  >
>

/** One delivery attempt. */
export interface DeliveryRecord {
  id: number
  webhookId: string
  /** The `webhook-id` header: the same on every attempt of one message. */
  messageId: string
  eventType: string
  attempt: number
  /** The endpoint's HTTP status; undefined when it did not answer. */
  status: number | undefined
  error: string | undefined
  durationMs: number
  created: number
}

/**
 * The webhooks port: endpoints of clients, their delivery attempts, and the dispatcher's place
 * in the event history. Split from `MetaStore`; the SQL adapters keep them beside the events.
 */
export interface WebhookStore {
  createWebhook(record: WebhookRecord): Promise<void>
  getWebhook(clientId: string, id: string): Promise<WebhookRecord | undefined>
  /** The client's webhooks, or every client's active ones when `clientId` is undefined. */
  listWebhooks(clientId: string | undefined): Promise<WebhookRecord[]>
  /** Applies the patch; the webhook as it is now, undefined when it is gone. */
  updateWebhook(id: string, patch: WebhookPatch, now: number): Promise<WebhookRecord | undefined>
  deleteWebhook(clientId: string, id: string): Promise<boolean>
  addDelivery(delivery: Omit<DeliveryRecord, 'id'>): Promise<void>
  /** Attempts of the webhook, newest first, with ids below `before` when given. */
  listDeliveries(
    webhookId: string,
    options: { before?: number; limit: number },
  ): Promise<DeliveryRecord[]>
  /** The position a named tailer of the events reached; undefined before it first moved. */
  eventCursor(name: string): Promise<number | undefined>
  setEventCursor(name: string, position: number): Promise<void>
}
