import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { isTerminal, parseJobRequest } from '../../src/jobs/index.ts'
import type { JobRecord } from '../../src/meta/index.ts'
import { type StartedJobSystem, startJobSystem, until } from '../helpers/job-system.ts'

describe('retrying failed jobs and redriving dead letters', () => {
  let s: StartedJobSystem
  before(async () => {
    s = await startJobSystem({ workers: true })
  })
  after(() => s.close())

  async function ended(client: string, id: string, attempt = 0): Promise<JobRecord> {
    return until(async () => {
      const job = await s.jobs.get(client, id)
      return isTerminal(job.state) && job.attempt === attempt ? job : undefined
    }, `job ${id} (try ${attempt}) to end`)
  }

  /** A decompress job of a file that is not gzip: it fails at once and is dead-lettered. */
  async function failingJob(client: string, name: string): Promise<JobRecord> {
    await s.files.put(client, name, [Buffer.from('not gzip, not yet')])
    const request = parseJobRequest({ type: 'decompress', input: name }, s.kinds)
    const { job } = await s.jobs.create(client, request)
    const failed = await ended(client, job.id)
    assert.equal(failed.error?.code, 'E_NOT_GZIP')
    return failed
  }

  it('a failed job retried after its input is fixed succeeds; only a failed job is retried', async () => {
    const job = await failingJob('ann', 'a.gz')
    await s.files.put('ann', 'a.gz', [gzipSync(Buffer.from('fixed\n'))])
    const again = await s.jobs.retry('ann', job.id)
    assert.equal(again.state, 'queued')
    assert.equal(again.attempt, 1)
    assert.equal(again.error, null)
    const done = await ended('ann', job.id, 1)
    assert.equal(done.state, 'succeeded', JSON.stringify(done.error))
    const parts: Uint8Array[] = []
    for await (const p of s.files.read(await s.files.stat('ann', 'a'))) parts.push(p)
    assert.equal(Buffer.concat(parts).toString(), 'fixed\n')
    await assert.rejects(s.jobs.retry('ann', job.id), { code: 'E_JOB_NOT_FAILED' })
    await assert.rejects(s.jobs.retry('bob', job.id), { code: 'E_JOB_NOT_FOUND' })
  })

  it("redrive retries the client's dead-lettered jobs once, and never another client's", async () => {
    const mine = await failingJob('cy', 'c.gz')
    const theirs = await failingJob('dee', 'd.gz')
    await s.files.put('cy', 'c.gz', [gzipSync(Buffer.from('c\n'))])
    const topics = await until(async () => {
      const list = await s.deadLetters.list()
      return list.find((t) => t.topic === 'jobs.decompress.dlq' && t.messages >= 2)
        ? list
        : undefined
    }, 'the dead letters')
    assert.ok(topics.some((t) => t.topic === 'jobs.decompress.dlq'))

    const first = await s.deadLetters.redrive('cy', 'jobs.decompress.dlq')
    assert.deepEqual(first.redriven, [mine.id])
    assert.equal((await ended('cy', mine.id, 1)).state, 'succeeded')
    assert.equal((await s.jobs.get('dee', theirs.id)).state, 'failed', 'not cy’s to retry')
    // The letters are used up: a second redrive has nothing to do.
    assert.deepEqual(await s.deadLetters.redrive('cy', 'jobs.decompress.dlq'), {
      redriven: [],
      skipped: [],
    })
    // dee's own redrive still finds dee's letter (it fails again: the input is still bad).
    const theirsAgain = await s.deadLetters.redrive('dee', 'jobs.decompress.dlq')
    assert.deepEqual(theirsAgain.redriven, [theirs.id])
    assert.equal((await ended('dee', theirs.id, 1)).error?.code, 'E_NOT_GZIP')
    await assert.rejects(s.deadLetters.redrive('cy', 'jobs.decompress'), { code: 'E_JOB_REQUEST' })
  })
})
