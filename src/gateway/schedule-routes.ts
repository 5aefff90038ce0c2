import type { ScheduleService } from '../schedules/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { readJson } from './json-body.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

const BODY_LIMIT = 1024 * 1024

/** `/v1/schedules`: a client's cron schedules of pipeline runs (see docs/pipelines.md). */
export function scheduleRoutes(
  router: Router,
  schedules: ScheduleService,
  clients: ClientResolver,
): void {
  router.on('POST', '/v1/schedules', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const saved = await schedules.put(client, await readJson(req, BODY_LIMIT))
    sendJson(res, 201, saved, {
      location: `/v1/schedules/${encodeURIComponent(String(saved.name))}`,
    })
  })

  router.on('GET', '/v1/schedules', async ({ req, res }) => {
    const client = await clients.resolve(req)
    sendJson(res, 200, { schedules: await schedules.list(client) })
  })

  router.on('GET', '/v1/schedules/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    sendJson(res, 200, await schedules.get(client, tail))
  })

  // POST /v1/schedules/NAME/pause and …/resume.
  router.on('POST', '/v1/schedules/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    const slash = tail.lastIndexOf('/')
    const action = tail.slice(slash + 1)
    if (slash < 1 || (action !== 'pause' && action !== 'resume')) {
      throw new HttpError(404, 'E_NOT_FOUND', `no route for POST /v1/schedules/${tail}`)
    }
    sendJson(res, 200, await schedules.pause(client, tail.slice(0, slash), action === 'pause'))
  })

  router.on('DELETE', '/v1/schedules/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    await schedules.delete(client, tail)
    res.writeHead(204).end()
  })
}
