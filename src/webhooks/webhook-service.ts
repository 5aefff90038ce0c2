import { randomBytes } from 'node:crypto'
import type { DeliveryRecord, WebhookRecord, WebhookStore } from '../meta/index.ts'
import { WebhookError } from './errors.ts'
import { checkEventPatterns } from './event-names.ts'
import { newWebhookSecret } from './signature.ts'
import { checkWebhookRequest } from './webhook-request.ts'
import { checkWebhookTarget } from './webhook-target.ts'

export interface WebhookServiceOptions {
  store: WebhookStore
  /** The newest event's id: a new webhook gets only what happens after it is made. */
  latestEvent: () => Promise<number>
  /** Whether loopback and private addresses may be targets (`webhookAllowPrivate`). */
  allowPrivate: boolean
  /** How long the secret before a rotation still signs (both signatures are sent meanwhile). */
  rotationGraceMs?: number
  /** Webhooks one client may have. */
  maxPerClient?: number
  now?: () => number
}

/** Clients' webhook endpoints: register, list, delete, rotate the secret, re-enable. */
export class WebhookService {
  readonly #o: Required<WebhookServiceOptions>

  constructor(options: WebhookServiceOptions) {
    this.#o = { rotationGraceMs: 24 * 3_600_000, maxPerClient: 100, now: Date.now, ...options }
  }

  async create(client: string, body: unknown): Promise<WebhookRecord> {
    const problem = checkWebhookRequest(body, 'body')
    if (problem) throw new WebhookError('E_WEBHOOK_REQUEST', problem)
    const { url, events } = body as { url: string; events: string[] }
    const target = await checkWebhookTarget(url, this.#o.allowPrivate)
    const patterns = checkEventPatterns(events)
    if ((await this.#o.store.listWebhooks(client)).length >= this.#o.maxPerClient) {
      throw new WebhookError(
        'E_WEBHOOK_REQUEST',
        `a client may have ${this.#o.maxPerClient} webhooks`,
      )
    }
    const now = this.#o.now()
    const record: WebhookRecord = {
      id: `wh_${randomBytes(12).toString('hex')}`,
      clientId: client,
      url: target.href,
      events: patterns,
      secret: newWebhookSecret(),
      previousSecret: undefined,
      previousUntil: undefined,
      state: 'active',
      disabledReason: undefined,
      failingSince: undefined,
      afterEvent: await this.#o.latestEvent(),
      created: now,
      updated: now,
    }
    await this.#o.store.createWebhook(record)
    return record
  }

  list(client: string): Promise<WebhookRecord[]> {
    return this.#o.store.listWebhooks(client)
  }

  async get(client: string, id: string): Promise<WebhookRecord> {
    const webhook = await this.#o.store.getWebhook(client, id)
    if (!webhook) throw new WebhookError('E_WEBHOOK_NOT_FOUND', `no webhook ${id}`)
    return webhook
  }

  async delete(client: string, id: string): Promise<void> {
    if (!(await this.#o.store.deleteWebhook(client, id))) {
      throw new WebhookError('E_WEBHOOK_NOT_FOUND', `no webhook ${id}`)
    }
  }

  /** A new secret; the old one still signs for the grace period, so receivers can switch. */
  async rotate(client: string, id: string): Promise<WebhookRecord> {
    const webhook = await this.get(client, id)
    const now = this.#o.now()
    return this.#update(id, {
      secret: newWebhookSecret(),
      previousSecret: webhook.secret,
      previousUntil: now + this.#o.rotationGraceMs,
    })
  }

  /** Turns a disabled webhook back on; deliveries start again with the next event. */
  async enable(client: string, id: string): Promise<WebhookRecord> {
    await this.get(client, id)
    return this.#update(id, { state: 'active', disabledReason: undefined, failingSince: undefined })
  }

  async deliveries(
    client: string,
    id: string,
    options: { before?: number; limit: number },
  ): Promise<DeliveryRecord[]> {
    await this.get(client, id)
    return this.#o.store.listDeliveries(id, options)
  }

  async #update(id: string, patch: Parameters<WebhookStore['updateWebhook']>[1]) {
    const updated = await this.#o.store.updateWebhook(id, patch, this.#o.now())
    if (!updated) throw new WebhookError('E_WEBHOOK_NOT_FOUND', `no webhook ${id}`)
    return updated
  }
}
