import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { cleanEnv, runPiper } from '../helpers/cli.ts'
import { startPiper } from '../helpers/piper-server.ts'

it('rate limits: a client over its bucket gets 429 with Retry-After, another client does not', async () => {
  const data = await mkdtemp(join(tmpdir(), 'piper-rate-'))
  const key = async (client: string) =>
    (await runPiper(['keys', 'create', client, '--data', data], { env: cleanEnv() })).stdout.trim()
  const alice = await key('alice')
  const bob = await key('bob')
  // One request a minute after a burst of two: the third within the minute is refused.
  const piper = await startPiper(
    ['--rate-limit-per-minute', '1', '--rate-limit-burst', '2'],
    {},
    data,
  )
  const list = (k: string) =>
    fetch(`${piper.url}/v1/files`, { headers: { authorization: `Bearer ${k}` } })
  try {
    assert.equal((await list(alice)).status, 200)
    assert.equal((await list(alice)).status, 200)
    const refused = await list(alice)
    assert.equal(refused.status, 429)
    const after = Number(refused.headers.get('retry-after'))
    assert.ok(after >= 1 && after <= 60, `Retry-After: ${after}`)
    assert.equal(
      ((await refused.json()) as { error: { code: string } }).error.code,
      'E_RATE_LIMITED',
    )
    assert.equal((await list(bob)).status, 200, 'buckets are per client')
    assert.equal((await fetch(`${piper.url}/livez`)).status, 200, 'health is never limited')
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})

it('load shedding: past maxQueuedJobs new jobs and runs get 503 with Retry-After; files still upload', async () => {
  // No workers: jobs stay queued, so the work waiting only grows.
  const piper = await startPiper(['--max-queued-jobs', '1', '--kinds', 'none'])
  const post = (path: string, body: unknown) =>
    fetch(`${piper.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  try {
    const put = await fetch(`${piper.url}/v1/files/a.txt`, { method: 'PUT', body: 'hello' })
    assert.equal(put.status, 201)
    assert.equal((await post('/v1/jobs', { type: 'compress', input: 'a.txt' })).status, 202)
    const refused = await post('/v1/jobs', { type: 'compress', input: 'a.txt', output: 'b.gz' })
    assert.equal(refused.status, 503)
    assert.equal(refused.headers.get('retry-after'), '5')
    const body = (await refused.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'E_OVERLOADED')
    assert.match(body.error.message, /1 jobs are waiting/)
    const withJob = await fetch(`${piper.url}/v1/files/b.txt?then=compress`, {
      method: 'PUT',
      body: 'x',
    })
    assert.equal(
      withJob.status,
      503,
      'an upload that would start a job is refused before its bytes',
    )
    const plain = await fetch(`${piper.url}/v1/files/c.txt`, { method: 'PUT', body: 'x' })
    assert.equal(plain.status, 201, 'storing files is not the work waiting')
  } finally {
    assert.equal(await piper.stop(), 0, piper.output())
  }
})
