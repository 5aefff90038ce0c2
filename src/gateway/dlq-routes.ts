import type { DeadLetters } from '../pipelines/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'

/** `/v1/dlq`: the job tasks' dead-letter topics, and redriving the client's failed jobs. */
export function dlqRoutes(router: Router, deadLetters: DeadLetters, clients: ClientResolver) {
  router.on('GET', '/v1/dlq', async ({ req, res }) => {
    await clients.resolve(req)
    sendJson(res, 200, { topics: await deadLetters.list() })
  })

  router.on('POST', '/v1/dlq/*', async ({ req, res, tail }) => {
    const client = await clients.resolve(req)
    const [topic = '', action] = tail.split('/', 2)
    if (action !== 'redrive') throw new HttpError(404, 'E_NOT_FOUND', `no route for ${tail}`)
    sendJson(res, 200, await deadLetters.redrive(client, topic))
  })
}
