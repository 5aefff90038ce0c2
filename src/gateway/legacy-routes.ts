import type { FileService } from '../files/index.ts'
import { schemaCheck } from '../schemas/index.ts'
import type { ClientResolver } from './api-keys.ts'
import { HttpError } from './errors.ts'
import { readJson } from './json-body.ts'
import { sendJson } from './respond.ts'
import type { Router } from './router.ts'
import type { RoutePolicy } from './server.ts'

const NON_EMPTY = { type: 'string', minLength: 1, 'x-must': 'a non-empty string' } as const

/** `POST /files`: the API's description and the request's check. Other fields are ignored. */
export const LEGACY_FILE_REQUEST = {
  type: 'object',
  'x-must': 'a JSON object',
  properties: {
    client_id: NON_EMPTY,
    name: NON_EMPTY,
    data: {
      type: 'string',
      pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
      'x-must': 'standard base64 (RFC 4648 §4)',
    },
  },
  required: ['client_id', 'name', 'data'],
} as const

const checkLegacyFile = schemaCheck(LEGACY_FILE_REQUEST)

/**
 * The API of Piper's first design, for small files: `POST /files` with JSON
 * `{"client_id", "name", "data"}` (data base64, as Go encodes []byte) and
 * `GET /files?client_id=…&name=…` → `{"name", "data"}`. Same storage as `/v1/files`.
 */
export function legacyRoutes(
  router: Router,
  files: FileService,
  clients: ClientResolver,
  policy: RoutePolicy,
  bodyLimit: number,
): void {
  // Each request holds its whole body (up to bodyLimit) in memory: few at a time, all clients.
  router.on('POST', '/files', async ({ req, res }) => {
    const client = await clients.resolve(req)
    res.once('close', policy.legacy.take('all'))
    const body = await readJson(req, bodyLimit)
    const problem = checkLegacyFile(body, '')
    if (problem) throw badRequest(problem)
    const {
      client_id: clientId,
      name,
      data,
    } = body as Record<'client_id' | 'name' | 'data', string>
    checkClient(clientId, client)
    const bytes = Buffer.from(data, 'base64')
    const file = await files.put(client, name, [bytes], { contentType: 'application/octet-stream' })
    sendJson(res, 200, { name: file.name, size: file.size, sha256: file.sha256 })
  })

  router.on('GET', '/files', async ({ req, res, url }) => {
    const client = await clients.resolve(req)
    res.once('close', policy.legacy.take('all'))
    const clientId = url.searchParams.get('client_id')
    const name = url.searchParams.get('name')
    if (!clientId) throw badRequest('the client_id parameter is required')
    if (!name) throw badRequest('the name parameter is required')
    checkClient(clientId, client)
    const file = await files.stat(client, name)
    if (file.size > bodyLimit) {
      throw new HttpError(
        413,
        'E_TOO_LARGE',
        `the file is ${file.size} bytes, over this API's ${bodyLimit}; use GET /v1/files/NAME`,
      )
    }
    const parts: Uint8Array[] = []
    for await (const part of files.read(file)) parts.push(part)
    sendJson(res, 200, { name: file.name, data: Buffer.concat(parts).toString('base64') })
  })
}

function checkClient(clientId: string, authenticated: string): void {
  if (clientId !== authenticated) {
    throw new HttpError(403, 'E_FORBIDDEN', 'client_id does not match the authenticated client')
  }
}

function badRequest(message: string): HttpError {
  return new HttpError(400, 'E_BAD_REQUEST', message)
}
