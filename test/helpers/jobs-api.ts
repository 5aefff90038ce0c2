import assert from 'node:assert/strict'
import type { ApiJob } from '../../src/cli/api-types.ts'
import { readSse, type SseEvent } from '../../src/cli/sse-reader.ts'

export type { ApiJob }

export async function putFile(base: string, name: string, bytes: Uint8Array, query = '') {
  const res = await fetch(`${base}/v1/files/${name}${query}`, { method: 'PUT', body: bytes })
  assert.equal(res.status, 201, await res.clone().text())
  return (await res.json()) as { name: string; size: number; chunks: number; job?: ApiJob }
}

export async function createJob(
  base: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<ApiJob> {
  const res = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  assert.equal(res.status, 202, await res.clone().text())
  return (await res.json()) as ApiJob
}

export async function getJob(base: string, id: string): Promise<ApiJob> {
  const res = await fetch(`${base}/v1/jobs/${id}`)
  assert.equal(res.status, 200)
  return (await res.json()) as ApiJob
}

/** Every SSE event of the job (from after `lastEventId`) until the stream ends. */
export function jobEvents(base: string, id: string, lastEventId?: string) {
  return streamEvents(`${base}/v1/jobs/${id}/events`, lastEventId)
}

/** Every SSE event at `url` (from after `lastEventId`) until the stream ends, JSON parsed. */
export async function streamEvents(url: string, lastEventId?: string) {
  const res = await fetch(url, {
    headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
    signal: AbortSignal.timeout(120_000),
  })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const events: (SseEvent & { json: Record<string, unknown> })[] = []
  for await (const event of readSse(res.body!))
    events.push({ ...event, json: JSON.parse(event.data) })
  return events
}

/** Waits for the job's SSE stream to end, then returns the job. */
export async function finished(base: string, id: string): Promise<ApiJob> {
  await jobEvents(base, id)
  return getJob(base, id)
}

export async function download(base: string, name: string): Promise<Buffer> {
  const res = await fetch(`${base}/v1/files/${name}`)
  assert.equal(res.status, 200, `GET ${name}`)
  return Buffer.from(await res.arrayBuffer())
}
