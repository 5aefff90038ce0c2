import type { JobEventFeed } from '../jobs/index.ts'
import { JOB_STATES, type JobState } from '../meta/index.ts'
import { type PipelineService, parseRunRequest, type RunService } from '../pipelines/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { followToEnd } from './event-stream.ts'
import { idempotencyKey } from './job-routes.ts'
import { readJson } from './json-body.ts'
import { type PageQuery, readPage } from './paging.ts'
import { pipelineJson, runJson } from './pipeline-json.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'
import type { RoutePolicy } from './server.ts'

/** A pipeline definition is small; this bounds what one request makes the server parse. */
const PIPELINE_BODY_LIMIT = 256 * 1024
const RUN_BODY_LIMIT = 1024 * 1024

/** `/v1/pipelines` and `/v1/runs`: store pipelines, start runs, follow and cancel them. */
export function pipelineRoutes(
  router: Router,
  pipelines: PipelineService,
  runs: RunService,
  feed: JobEventFeed,
  clients: ClientResolver,
  policy: RoutePolicy,
  shutdown: AbortSignal,
): void {
  router.on('POST', '/v1/pipelines', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const saved = await pipelines.save(client, await readJson(req, PIPELINE_BODY_LIMIT))
    sendJson(res, 201, pipelineJson(saved), {
      location: `/v1/pipelines/${encodeURIComponent(saved.name)}`,
    })
  })

  router.on('GET', '/v1/pipelines', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const read = (options: { after?: string; limit: number }) => pipelines.list(client, options)
    sendJson(res, 200, await readPage(url, 'pipelines', read, pipelineJson, (p) => p.name))
  })

  router.on('GET', '/v1/pipelines/*', async ({ req, res, tail, url }) => {
    const client = await clients.resolve(req)
    const raw = url.searchParams.get('version')
    const version = raw === null ? undefined : Number(raw)
    if (version !== undefined && !(Number.isSafeInteger(version) && version >= 1)) {
      throw new HttpError(400, 'E_BAD_REQUEST', 'version must be a positive integer')
    }
    sendJson(res, 200, pipelineJson(await pipelines.get(client, tail, version)))
  })

  router.on('DELETE', '/v1/pipelines/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    await pipelines.delete(client, tail)
    res.writeHead(204).end()
  })

  router.on('POST', '/v1/runs', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const request = parseRunRequest(await readJson(req, RUN_BODY_LIMIT))
    await policy.shedding.check()
    await policy.quotas.checkJob(client)
    const { run } = await runs.create(client, request, idempotencyKey(req))
    sendJson(res, 202, runJson(run), { location: `/v1/runs/${run.id}` })
  })

  router.on('GET', '/v1/runs', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const read = (options: PageQuery) =>
      runs.list(client, { ...options, state: options.state as JobState | undefined })
    const page = await readPage(
      url,
      'runs',
      read,
      (run) => runJson(run),
      (run) => run.id,
      { states: JOB_STATES, ordered: true },
    )
    sendJson(res, 200, page)
  })

  router.on('GET', '/v1/runs/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    const [id = '', rest] = tail.split('/', 2)
    const { run, status } = await runs.get(client, id)
    if (rest === undefined) {
      sendJson(res, 200, runJson(run, status))
      return
    }
    if (rest !== 'events') throw new HttpError(404, 'E_NOT_FOUND', `no route for ${tail}`)
    await followToEnd({ req, res, policy, feed, shutdown, client }, run.id, run.state)
  })

  router.on('DELETE', '/v1/runs/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    sendJson(res, 200, runJson(await runs.cancel(client, tail)))
  })
}
