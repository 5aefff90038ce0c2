import type { IncomingMessage } from 'node:http'
import { HttpError } from './errors.ts'

/** Reads a JSON object body of at most `limit` bytes: 413 beyond, 400 when not JSON. */
export async function readJson(
  req: IncomingMessage,
  limit: number,
): Promise<Record<string, unknown>> {
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
