import { kindOfTaskTopic, LEGACY_TASK_TOPIC, WORKER_GROUP } from '../jobs/index.ts'
import type { TopicStats } from '../queue/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

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
      // Task topics: `jobs.<kind>` and their shards (a kind may hold dots: `image.detect`),
      // and the legacy topic of every kind; not dead letters.
      const topicKind = kindOfTaskTopic(topic.topic)
      if (topicKind === undefined && topic.topic !== LEGACY_TASK_TOPIC) continue
      if (kind !== null && topicKind !== kind) continue
      const group = topic.groups.find((g) => g.group === WORKER_GROUP)
      // A topic no worker has joined yet waits whole.
      lag += group ? group.lag : topic.messages
      pending += group?.pending ?? 0
    }
    sendJson(res, 200, { lag, pending, waiting: lag - pending })
  })
}
