import type { IncomingMessage } from 'node:http'
import {
  type JobEventFeed,
  type JobService,
  type KindRegistry,
  parseJobRequest,
} from '../jobs/index.ts'
import { JOB_STATES, type JobState } from '../meta/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { followEvents, followToEnd } from './event-stream.ts'
import { jobJson } from './job-json.ts'
import { readJson } from './json-body.ts'
import { type PageQuery, readPage } from './paging.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'
import type { RoutePolicy } from './server.ts'

const JOB_BODY_LIMIT = 64 * 1024

/** `/v1/jobs` and `/v1/events`: create, read, list and cancel jobs, and watch them live. */
export function jobRoutes(
  router: Router,
  jobs: JobService,
  feed: JobEventFeed,
  kinds: KindRegistry,
  clients: ClientResolver,
  policy: RoutePolicy,
  shutdown: AbortSignal,
): void {
  router.on('POST', '/v1/jobs', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const request = parseJobRequest(await readJson(req, JOB_BODY_LIMIT), kinds)
    await policy.shedding.check()
    await policy.quotas.checkJob(client)
    const { job } = await jobs.create(client, request, idempotencyKey(req))
    sendJson(res, 202, jobJson(job), { location: `/v1/jobs/${job.id}` })
  })

  router.on('GET', '/v1/jobs', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const read = (options: PageQuery) =>
      jobs.list(client, { ...options, state: options.state as JobState | undefined })
    const listing = { states: JOB_STATES, ordered: true }
    sendJson(res, 200, await readPage(url, 'jobs', read, jobJson, (job) => job.id, listing))
  })

  router.on('GET', '/v1/jobs/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    const [id = '', rest] = tail.split('/', 2)
    if (rest === undefined) {
      sendJson(res, 200, jobJson(await jobs.get(client, id)))
      return
    }
    if (rest !== 'events') throw new HttpError(404, 'E_NOT_FOUND', `no route for ${tail}`)
    const job = await jobs.get(client, id)
    await followToEnd({ req, res, policy, feed, shutdown, client }, job.id, job.state)
  })

  router.on('POST', '/v1/jobs/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    const [id = '', action] = tail.split('/', 2)
    if (action !== 'retry') throw new HttpError(404, 'E_NOT_FOUND', `no route for ${tail}`)
    const job = await jobs.retry(client, id)
    sendJson(res, 202, jobJson(job), { location: `/v1/jobs/${job.id}` })
  })

  router.on('DELETE', '/v1/jobs/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    sendJson(res, 200, jobJson(await jobs.cancel(client, tail)))
  })

  router.on('GET', '/v1/events', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const after = await feed.latest()
    await followEvents({ req, res, policy, feed, shutdown, client, after, ended: false })
  })

  router.on('GET', '/v1/kinds', async ({ req, res }) => {
    await clients.resolve(req)
    sendJson(res, 200, {
      kinds: kinds.all.map((kind) => ({
        name: kind.name,
        summary: kind.summary,
        inputs: kind.inputs,
        output: kind.output,
        params: kind.params,
      })),
    })
  })
}

export function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key']
  if (key === undefined) return undefined
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'Idempotency-Key must be 1 to 255 characters')
  }
  return key
}
