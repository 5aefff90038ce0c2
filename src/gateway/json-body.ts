import type { IncomingMessage } from 'node:http'
import { HttpError } from './errors.ts'

/**
 * Reads a JSON object body of at most `limit` bytes: 415 unless it is declared
 * `application/json`, 413 beyond the limit, 400 when not JSON. The media type is required, not
 * guessed: a web page on any site can send `text/plain` or a form without asking (no CORS
 * preflight), but not `application/json`.
 */
export async function readJson(
  req: IncomingMessage,
  limit: number,
): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    throw new HttpError(
      415,
      'E_MEDIA_TYPE',
      `the body must be sent as Content-Type: application/json (got ${type === '' ? 'none' : JSON.stringify(type)})`,
    )
  }
  const declared = Number(req.headers['content-length'])
  const tooLarge = () => new HttpError(413, 'E_TOO_LARGE', `the body is larger than ${limit} bytes`)
  if (declared > limit) throw tooLarge()
  const parts: Buffer[] = []
  let size = 0
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length
    if (size > limit) throw tooLarge()
    parts.push(part)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.concat(parts).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, 'E_BAD_REQUEST', `the body is not JSON: ${(error as Error).message}`)
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'E_BAD_REQUEST', 'the body must be a JSON object')
  }
  return body as Record<string, unknown>
}
