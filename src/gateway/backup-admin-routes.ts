import type { Backups } from '../app/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'
import type { RoutePolicy } from './server.ts'
import { streamStatus } from './status-events.ts'

/**
 * `/v1/admin/backups`: the backups in the configured store (`PIPER_BACKUPS`), a backup started
 * now while Piper serves, and its progress as Server-Sent Events.
 */
export function backupAdminRoutes(
  router: Router,
  backups: Backups | undefined,
  clients: ClientResolver,
  policy: RoutePolicy,
  shutdown: AbortSignal,
): void {
  const configured = () => {
    if (!backups) {
      throw new HttpError(
        409,
        'E_BACKUP_TARGET',
        'no backup store is configured: set PIPER_BACKUPS (file:DIR, s3://…, nodes://…)',
      )
    }
    return backups
  }
  const current = () => {
    const last = configured().last
    if (!last) throw new HttpError(404, 'E_NOT_FOUND', 'this process has made no backup yet')
    return last
  }

  router.on('GET', '/v1/admin/backups', async ({ req, res }) => {
    await clients.resolveAdmin(req)
    const store = configured()
    sendJson(res, 200, { backups: await store.list(), current: store.last ?? null })
  })

  router.on('POST', '/v1/admin/backups', async ({ req, res }) => {
    await clients.resolveAdmin(req)
    const status = await configured().request()
    if (!status) {
      throw new HttpError(
        409,
        'E_BACKUP_BUSY',
        'another backup of this deployment is running (another process, or piper backup); try again when it has finished',
      )
    }
    sendJson(res, 202, status, { location: '/v1/admin/backups/current' })
  })

  router.on('GET', '/v1/admin/backups/current', async ({ req, res }) => {
    await clients.resolveAdmin(req)
    sendJson(res, 200, current())
  })

  router.on('GET', '/v1/admin/backups/current/events', async ({ req, res }) => {
    const client = await clients.resolveAdmin(req)
    current()
    await streamStatus(req, res, configured(), policy.streams.take(client), shutdown)
  })
}
