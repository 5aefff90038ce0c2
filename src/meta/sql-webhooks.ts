import { ensureClient } from './sql-clients.ts'
import type { Row, SqlDriver } from './sql-driver.ts'
import type { DeliveryRecord, WebhookPatch, WebhookRecord } from './webhook-store.ts'

const optionalNumber = (v: unknown) => (v == null ? undefined : Number(v))
const optionalString = (v: unknown) => (v == null ? undefined : String(v))

function webhookFrom(row: Row): WebhookRecord {
  return {
    id: String(row.id),
    clientId: String(row.client_id),
    url: String(row.url),
    events: JSON.parse(String(row.events)) as string[],
    secret: String(row.secret),
    previousSecret: optionalString(row.previous_secret),
    previousUntil: optionalNumber(row.previous_until),
    state: String(row.state) as WebhookRecord['state'],
    disabledReason: optionalString(row.disabled_reason),
    failingSince: optionalNumber(row.failing_since),
    afterEvent: Number(row.after_event),
    created: Number(row.created),
    updated: Number(row.updated),
  }
}

export function createWebhook(driver: SqlDriver, w: WebhookRecord): Promise<void> {
  return driver.transaction(async (tx) => {
    await ensureClient(driver, tx, w.clientId)
    await tx.run(
      `INSERT INTO webhooks (id, client_id, url, events, secret, previous_secret, previous_until,
         state, disabled_reason, failing_since, after_event, created, updated)
       VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6, NULL, NULL, $7, $8, $8)`,
      [
        w.id,
        w.clientId,
        w.url,
        JSON.stringify(w.events),
        w.secret,
        w.state,
        w.afterEvent,
        w.created,
      ],
    )
  })
}

export async function getWebhook(
  driver: SqlDriver,
  clientId: string,
  id: string,
): Promise<WebhookRecord | undefined> {
  const rows = await driver.all('SELECT * FROM webhooks WHERE id = $1 AND client_id = $2', [
    id,
    clientId,
  ])
  return rows[0] && webhookFrom(rows[0])
}

export async function listWebhooks(
  driver: SqlDriver,
  clientId: string | undefined,
): Promise<WebhookRecord[]> {
  const rows =
    clientId === undefined
      ? await driver.all(`SELECT * FROM webhooks WHERE state = 'active' ORDER BY id`)
      : await driver.all('SELECT * FROM webhooks WHERE client_id = $1 ORDER BY id', [clientId])
  return rows.map(webhookFrom)
}

/** Column of each patchable field; a field given as undefined is set to NULL. */
const PATCH_COLUMNS: Record<keyof WebhookPatch, string> = {
  secret: 'secret',
  previousSecret: 'previous_secret',
  previousUntil: 'previous_until',
  state: 'state',
  disabledReason: 'disabled_reason',
  failingSince: 'failing_since',
}

export async function updateWebhook(
  driver: SqlDriver,
  id: string,
  patch: WebhookPatch,
  now: number,
): Promise<WebhookRecord | undefined> {
  const fields = Object.keys(patch) as (keyof WebhookPatch)[]
  const sets = fields.map((f, i) => `${PATCH_COLUMNS[f]} = $${i + 3}`)
  const rows = await driver.all(
    `UPDATE webhooks SET ${[...sets, 'updated = $2'].join(', ')} WHERE id = $1 RETURNING *`,
    [id, now, ...fields.map((f) => patch[f] ?? null)],
  )
  return rows[0] && webhookFrom(rows[0])
}

export async function deleteWebhook(
  driver: SqlDriver,
  clientId: string,
  id: string,
): Promise<boolean> {
  return driver.transaction(async (tx) => {
    const deleted = await tx.run('DELETE FROM webhooks WHERE id = $1 AND client_id = $2', [
      id,
      clientId,
    ])
    if (deleted > 0) await tx.run('DELETE FROM webhook_deliveries WHERE webhook_id = $1', [id])
    return deleted > 0
  })
}

export async function addDelivery(driver: SqlDriver, d: Omit<DeliveryRecord, 'id'>): Promise<void> {
  // Not durable on its own: a log line lost in a power cut is not worth an fsync per attempt.
  await driver.transaction(
    (tx) =>
      tx.run(
        `INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, attempt, status, error,
           duration_ms, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          d.webhookId,
          d.messageId,
          d.eventType,
          d.attempt,
          d.status ?? null,
          d.error ?? null,
          d.durationMs,
          d.created,
        ],
      ),
    { durable: false },
  )
}

export async function listDeliveries(
  driver: SqlDriver,
  webhookId: string,
  options: { before?: number; limit: number },
): Promise<DeliveryRecord[]> {
  const rows = await driver.all(
    `SELECT * FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
    [webhookId, options.before ?? Number.MAX_SAFE_INTEGER, options.limit],
  )
  return rows.map((r) => ({
    id: Number(r.id),
    webhookId: String(r.webhook_id),
    messageId: String(r.message_id),
    eventType: String(r.event_type),
    attempt: Number(r.attempt),
    status: optionalNumber(r.status),
    error: optionalString(r.error),
    durationMs: Number(r.duration_ms),
    created: Number(r.created),
  }))
}
