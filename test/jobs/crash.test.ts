import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { readSse } from '../../src/cli/sse-reader.ts'
import { textLike } from '../codec/data.ts'
import { pipeThrough } from '../helpers/exec.ts'
import { createJob, download, finished, jobEvents, putFile } from '../helpers/jobs-api.ts'
import { type RunningPiper, startPiper } from '../helpers/piper-server.ts'

const ARGS = ['--chunk-size', '64K', '--workers', '2']

/** Resolves once the job's first progress event arrives: it is running, part way through. */
async function firstProgress(base: string, id: string): Promise<void> {
  const res = await fetch(`${base}/v1/jobs/${id}/events`)
  for await (const event of readSse(res.body!)) {
    if (event.event === 'progress') {
      await res.body!.cancel().catch(() => {})
      return
    }
  }
  assert.fail('the job ended before any progress')
}

/**
 * Uploads `input`, starts compressing it on piper started with `env`, stops piper with `stop`
 * (once the job is part way through), restarts it on the same data: the job then succeeds with
 * each state once, and its output is a gzip of the input with one part per chunk.
 */
async function interruptAndRestart(
  input: Buffer,
  name: string,
  stop: (first: RunningPiper, job: string) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const first = await startPiper(ARGS, env)
  await putFile(first.url, name, input)
  const job = await createJob(first.url, { type: 'compress', input: name })
  await stop(first, job.id)

  const second = await startPiper(ARGS, {}, first.data)
  try {
    const done = await finished(second.url, job.id)
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error))
    const states = (await jobEvents(second.url, job.id))
      .filter((e) => e.event === 'state')
      .map((e) => e.json.state)
    assert.deepEqual(states, ['queued', 'running', 'succeeded'], 'each state once')
    const restored = await pipeThrough('gzip', ['-dc'], await download(second.url, `${name}.gz`))
    assert.equal(restored.code, 0, restored.stderr)
    assert.ok(restored.stdout.equals(input), 'gzip -d restores the input')
    const head = await fetch(`${second.url}/v1/files?prefix=${name}.gz`)
    const listed = (await head.json()) as { files: { chunks: number }[] }
    assert.equal(listed.files[0]?.chunks, Math.ceil(input.length / 65536), 'no part twice')
  } finally {
    assert.equal(await second.stop(), 0, second.output())
  }
}

describe('jobs survive kill -9 of piper up', () => {
  it('a many-chunk job killed midway completes once after restart, output intact', async () => {
    // 24 MB in 64 KiB chunks: 367 parts, so the kill lands while parts are running.
    const input = Buffer.from(textLike(24_000_000, 5))
    await interruptAndRestart(input, 'big.txt', async (first, job) => {
      await firstProgress(first.url, job)
      first.child.kill('SIGKILL')
      await first.exited
    })
  })

  it('SIGTERM mid-job drains and exits 0; after restart the job completes once', async () => {
    const input = Buffer.from(textLike(12_000_000, 6))
    await interruptAndRestart(input, 'drain.txt', async (first, job) => {
      await firstProgress(first.url, job)
      assert.equal(await first.stop(), 0, first.output())
    })
  })

  it('a second SIGTERM while draining exits at once', async () => {
    const first = await startPiper(ARGS)
    // An upload that never ends keeps the gateway draining after the first signal. The server
    // answers `Expect: 100-continue` once it has the request: from then on it is in flight.
    const { hostname, port } = new URL(first.url)
    const socket = connect(Number(port), hostname)
    socket.on('error', () => {})
    try {
      socket.write(
        `PUT /v1/files/stuck.bin HTTP/1.1\r\nHost: ${hostname}\r\nContent-Length: 1000000\r\n` +
          'Expect: 100-continue\r\n\r\n',
      )
      const [reply] = (await once(socket, 'data')) as [Buffer]
      assert.match(reply.toString(), /^HTTP\/1\.1 100 Continue/)
      socket.write(Buffer.alloc(1000))

      const exit = once(first.child, 'exit') as Promise<[number | null, string | null]>
      first.child.kill('SIGTERM')
      while (!first.messages().includes('shutting down')) await sleep(20)
      first.child.kill('SIGTERM')
      const [code] = await exit
      assert.equal(code, 143, 'exits with 128 + SIGTERM at once, not after the drain')
    } finally {
      socket.destroy()
      first.child.kill('SIGKILL')
    }
  })

  it('a one-chunk job whose process died between its output and its commit completes once after restart', async () => {
    const input = Buffer.from('one chunk, killed before its commit\n'.repeat(500))
    // Killed by the failpoint once its output's blob is stored.
    const died = async (first: RunningPiper) => void (await first.exited)
    await interruptAndRestart(input, 'one.txt', died, { PIPER_FAILPOINT: 'one-part-stored' })
  })

  it('a job whose process died between its record and its publish still runs', async () => {
    const first = await startPiper(ARGS, { PIPER_FAILPOINT: 'job-created' })
    await putFile(first.url, 'in.txt', Buffer.from('the outbox keeps this job\n'.repeat(5000)))
    const died = fetch(`${first.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'compress', input: 'in.txt' }),
    })
    await assert.rejects(died, 'the process is killed before it answers')
    await first.exited

    const second = await startPiper(ARGS, {}, first.data)
    try {
      const listed = (await (await fetch(`${second.url}/v1/jobs`)).json()) as {
        jobs: { id: string }[]
      }
      assert.equal(listed.jobs.length, 1, 'the job record was written')
      const done = await finished(second.url, listed.jobs[0]!.id)
      assert.equal(done.state, 'succeeded')
      const gz = await download(second.url, 'in.txt.gz')
      const restored = await pipeThrough('gzip', ['-dc'], gz)
      assert.equal(restored.stdout.toString(), 'the outbox keeps this job\n'.repeat(5000))
    } finally {
      assert.equal(await second.stop(), 0, second.output())
    }
  })
})
