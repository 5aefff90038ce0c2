import type { TopicStats } from '../queue/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

/** The consumer group of the workers that run job tasks (`WORKER_GROUP`). */
const WORKERS = 'workers'
/** Task topics: `jobs.<kind>` and their shards, not dead letters. */
const TASK_TOPIC = /^jobs\.[^.]+(\.\d+)?$/

/**
 * `/v1/admin/queue`: every topic's depth and each group's lag and in-flight count (the
 * dashboard's queue view), and `/v1/admin/queue/lag`: the job tasks waiting for workers, summed,
 * for an autoscaler (KEDA's `metrics-api` scaler reads `lag`; `?kind=` narrows it to one kind).
 */
export function queueAdminRoutes(
  router: Router,
  stats: (() => Promise<TopicStats[]>) | undefined,
  clients: ClientResolver,
): void {
  if (!stats) return
  router.on('GET', '/v1/admin/queue', async ({ req, res }) => {
    await clients.resolveAdmin(req)
    sendJson(res, 200, { topics: await stats() })
  })
  router.on('GET', '/v1/admin/queue/lag', async ({ req, res, url }) => {
    await clients.resolveAdmin(req)
    const kind = url.searchParams.get('kind')
    let lag = 0
    let pending = 0
    for (const topic of await stats()) {
      if (!TASK_TOPIC.test(topic.topic)) continue
      if (kind !== null && topic.topic.split('.')[1] !== kind) continue
      const group = topic.groups.find((g) => g.group === WORKERS)
      // A topic no worker has joined yet waits whole.
      lag += group ? group.lag : topic.messages
      pending += group?.pending ?? 0
    }
    sendJson(res, 200, { lag, pending, waiting: lag - pending })
  })
}
