import assert from 'node:assert/strict'
import type { ApiRun } from '../../src/cli/api-types.ts'
import { streamEvents } from './jobs-api.ts'

/** A run read alone: its steps with their outputs and jobs. */
export interface RunJson extends ApiRun {
  steps: Record<string, ApiRun['steps'][string] & { outputs: string[]; jobs: string[] }>
  result: { outputs: Record<string, string[]>; failed_steps: string[] } | null
}

async function post(base: string, path: string, body: unknown) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** Stores a pipeline; asserts 201. */
export async function savePipeline(base: string, body: unknown) {
  const res = await post(base, '/v1/pipelines', body)
  assert.equal(res.status, 201, await res.clone().text())
  return (await res.json()) as { name: string; version: number }
}

/** POSTs a pipeline expected to be refused; the error. */
export async function refusedPipeline(base: string, body: unknown) {
  const res = await post(base, '/v1/pipelines', body)
  assert.equal(res.status, 400)
  return ((await res.json()) as { error: { code: string; message: string } }).error
}

export async function startRun(base: string, body: unknown): Promise<RunJson> {
  const res = await post(base, '/v1/runs', body)
  assert.equal(res.status, 202, await res.clone().text())
  return (await res.json()) as RunJson
}

export async function getRun(base: string, id: string): Promise<RunJson> {
  const res = await fetch(`${base}/v1/runs/${id}`)
  assert.equal(res.status, 200)
  return (await res.json()) as RunJson
}

/** Every SSE event of the run until its stream ends (after its last state). */
export function runEvents(base: string, id: string, lastEventId?: string) {
  return streamEvents(`${base}/v1/runs/${id}/events`, lastEventId)
}

/** Waits for the run to end, then returns it. */
export async function runFinished(base: string, id: string): Promise<RunJson> {
  await runEvents(base, id)
  return getRun(base, id)
}
