import type { UsageStore } from '../meta/index.ts'
import { parseUsageParams, usageReport } from '../stats/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

export interface StatsRouteOptions {
  store: UsageStore & { eventCursor(name: string): Promise<number | undefined> }
  latestEvent: () => Promise<number>
  /** Forgets the statistics; they are counted again from the event history. */
  rebuild: () => Promise<void>
}

/**
 * `/v1/stats`: the client's usage in minute, hour or day buckets (`?from&to&bucket&kind`);
 * `/v1/admin/stats`: every client's together, and a rebuild from the event history.
 */
export function statsRoutes(
  router: Router,
  stats: StatsRouteOptions | undefined,
  clients: ClientResolver,
): void {
  if (!stats) return
  router.on('GET', '/v1/stats', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    sendJson(
      res,
      200,
      await usageReport(stats.store, stats.latestEvent, client, parseUsageParams(url.searchParams)),
    )
  })
  router.on('GET', '/v1/admin/stats', async ({ req, res, url }) => {
    await clients.resolveAdmin(req)
    sendJson(
      res,
      200,
      await usageReport(
        stats.store,
        stats.latestEvent,
        undefined,
        parseUsageParams(url.searchParams),
      ),
    )
  })
  router.on('POST', '/v1/admin/stats/rebuild', async ({ req, res }) => {
    await clients.resolveAdmin(req)
    await stats.rebuild()
    sendJson(res, 202, { rebuilding: true })
  })
}
