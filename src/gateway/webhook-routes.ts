import type { DeliveryRecord, WebhookRecord } from '../meta/index.ts'
import type { WebhookService } from '../webhooks/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { readJson } from './json-body.ts'
import { pageLimit } from './paging.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

const BODY_LIMIT = 64 * 1024

/** A webhook as the API shows it; its secret only when just made or rotated. */
function webhookJson(w: WebhookRecord, withSecret = false) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    state: w.state,
    ...(w.disabledReason ? { disabled_reason: w.disabledReason } : {}),
    failing_since: w.failingSince === undefined ? null : new Date(w.failingSince).toISOString(),
    ...(withSecret ? { secret: w.secret } : {}),
    created: new Date(w.created).toISOString(),
    updated: new Date(w.updated).toISOString(),
  }
}

function deliveryJson(d: DeliveryRecord) {
  return {
    id: d.id,
    message_id: d.messageId,
    event: d.eventType,
    attempt: d.attempt,
    status: d.status ?? null,
    error: d.error ?? null,
    duration_ms: d.durationMs,
    created: new Date(d.created).toISOString(),
  }
}

/** `/v1/webhooks`: a client's endpoints for events, signed and retried (docs/webhooks.md). */
export function webhookRoutes(
  router: Router,
  webhooks: WebhookService | undefined,
  clients: ClientResolver,
): void {
  if (!webhooks) return
  router.on('POST', '/v1/webhooks', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const made = await webhooks.create(client, await readJson(req, BODY_LIMIT))
    sendJson(res, 201, webhookJson(made, true), { location: `/v1/webhooks/${made.id}` })
  })

  router.on('GET', '/v1/webhooks', async ({ req, res }) => {
    const client = await clients.resolve(req)
    sendJson(res, 200, { webhooks: (await webhooks.list(client)).map((w) => webhookJson(w)) })
  })

  router.on('GET', '/v1/webhooks/*', async ({ req, res, tail, url }) => {
    const client = await clients.resolve(req)
    const [id, what, ...rest] = tail.split('/')
    if (what === undefined) {
      sendJson(res, 200, webhookJson(await webhooks.get(client, id!)))
      return
    }
    if (what !== 'deliveries' || rest.length > 0) throw notFound('GET', tail)
    const limit = pageLimit(url.searchParams.get('limit'))
    const cursor = url.searchParams.get('cursor')
    if (cursor !== null && !/^\d{1,15}$/.test(cursor)) {
      throw new HttpError(400, 'E_BAD_REQUEST', 'cursor is not one this API returned')
    }
    const page = await webhooks.deliveries(client, id!, {
      before: cursor === null ? undefined : Number(cursor),
      limit: limit + 1,
    })
    const more = page.length > limit
    const shown = page.slice(0, limit)
    sendJson(res, 200, {
      deliveries: shown.map(deliveryJson),
      next_cursor: more ? String(shown[shown.length - 1]!.id) : null,
    })
  })

  // POST /v1/webhooks/ID/rotate (a new secret) and …/enable (after it was disabled).
  router.on('POST', '/v1/webhooks/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    const [id, action, ...rest] = tail.split('/')
    if (rest.length > 0 || (action !== 'rotate' && action !== 'enable')) {
      throw notFound('POST', tail)
    }
    const updated =
      action === 'rotate' ? await webhooks.rotate(client, id!) : await webhooks.enable(client, id!)
    sendJson(res, 200, webhookJson(updated, action === 'rotate'))
  })

  router.on('DELETE', '/v1/webhooks/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    await webhooks.delete(client, tail)
    res.writeHead(204).end()
  })
}

function notFound(method: string, tail: string): HttpError {
  return new HttpError(404, 'E_NOT_FOUND', `no route for ${method} /v1/webhooks/${tail}`)
}
