import type { IncomingMessage } from 'node:http'
import { isTerminal, type JobEventFeed, type JobService, parseJobRequest } from '../jobs/index.ts'
import { JOB_STATES, type JobState } from '../meta/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { eventJson, jobJson } from './job-json.ts'
import { readJson } from './json-body.ts'
import { decodeCursor, encodeCursor, pageLimit } from './paging.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'
import type { RoutePolicy } from './server.ts'
import { lastEventId, SseStream } from './sse.ts'

const JOB_BODY_LIMIT = 64 * 1024

/** `/v1/jobs` and `/v1/events`: create, read, list and cancel jobs, and watch them live. */
export function jobRoutes(
  router: Router,
  jobs: JobService,
  feed: JobEventFeed,
  clients: ClientResolver,
  policy: RoutePolicy,
  shutdown: AbortSignal,
): void {
  router.on('POST', '/v1/jobs', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const request = parseJobRequest(await readJson(req, JOB_BODY_LIMIT))
    await policy.quotas.checkJob(client)
    const { job } = await jobs.create(client, request, idempotencyKey(req))
    sendJson(res, 202, jobJson(job), { location: `/v1/jobs/${job.id}` })
  })

  router.on('GET', '/v1/jobs', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    const limit = pageLimit(url.searchParams.get('limit'))
    const cursor = url.searchParams.get('cursor')
    const state = url.searchParams.get('state') ?? undefined
    if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
      throw new HttpError(400, 'E_BAD_REQUEST', `state must be one of ${JOB_STATES.join(', ')}`)
    }
    const page = await jobs.list(client, {
      state: state as JobState | undefined,
      after: cursor === null ? undefined : decodeCursor(cursor),
      limit: limit + 1,
    })
    const shown = page.slice(0, limit)
    sendJson(res, 200, {
      jobs: shown.map(jobJson),
      next_cursor: page.length > limit ? encodeCursor(shown[shown.length - 1]!.id) : null,
    })
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
    res.once('close', policy.streams.take(client))
    const stream = new SseStream(req, res, shutdown)
    const query = { clientId: client, jobId: job.id, after: lastEventId(req) ?? 0 }
    // A job that already ended: what follows `after`, then the end. Otherwise, until it ends.
    const events = isTerminal(job.state)
      ? feed.backlog(query)
      : feed.subscribe({ ...query, signal: stream.signal })
    try {
      for await (const event of events) {
        await stream.send(event.id, event.type, eventJson(event))
        if (event.type === 'state' && isTerminal(event.data.state as JobState)) return
      }
    } finally {
      stream.end()
    }
  })

  router.on('DELETE', '/v1/jobs/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    sendJson(res, 200, jobJson(await jobs.cancel(client, tail)))
  })

  router.on('GET', '/v1/events', async ({ req, res }) => {
    const client = await clients.resolve(req)
    const after = lastEventId(req) ?? (await feed.latest())
    res.once('close', policy.streams.take(client))
    const stream = new SseStream(req, res, shutdown)
    try {
      for await (const event of feed.subscribe({
        clientId: client,
        after,
        signal: stream.signal,
      })) {
        await stream.send(event.id, event.type, eventJson(event))
      }
    } finally {
      stream.end()
    }
  })
}

function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key']
  if (key === undefined) return undefined
  if (typeof key !== 'string' || key.length === 0 || key.length > 255) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'Idempotency-Key must be 1 to 255 characters')
  }
  return key
}
