import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { UsageAggregator, usageReport } from '../../src/stats/index.ts'
import { silent } from '../helpers/job-system.ts'

it('jobs of kinds with a dot in their name (image.detect) are counted by kind and state, ended, and in their compression', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-usage-report-'))
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await meta.start()
  try {
    // Real jobs through their states: the events the aggregator counts.
    const ended = async (type: string, state: 'succeeded' | 'failed') => {
      const { job } = await meta.createJob({
        id: `job_${randomUUID()}`,
        clientId: 'uma',
        type,
        input: 'in.png',
        output: `out-${randomUUID()}.png`,
        params: {},
      })
      const running = await meta.updateJob(job.id, job.version, { state: 'running' })
      await meta.updateJob(job.id, running!.version, {
        state,
        ...(state === 'succeeded'
          ? { result: { input_size: 1000, output_size: 250 } }
          : { error: { code: 'E_X', message: 'no' } }),
      })
    }
    await ended('image.detect', 'succeeded')
    await ended('image.detect', 'succeeded')
    await ended('image.detect', 'failed')
    await ended('compress', 'succeeded')
    await new UsageAggregator({ meta, store: meta, logger: silent }).pass()

    const now = Date.now()
    const report = await usageReport(meta, () => meta.lastJobEventId(), 'uma', {
      granularity: 'day',
      from: now - 86_400_000,
      to: now + 60_000,
      kind: undefined,
    })
    const { totals } = report
    assert.deepEqual(totals.jobs, {
      'image.detect': { queued: 3, running: 3, succeeded: 2, failed: 1 },
      compress: { queued: 1, running: 1, succeeded: 1 },
    })
    assert.equal(totals.jobs_ended, 4)
    assert.deepEqual(totals.compression['image.detect'], {
      bytes_in: 2000,
      bytes_out: 500,
      ratio: 0.25,
    })
    assert.equal(totals.latency_ms['image.detect']?.count, 3)
    // Asked for one kind, the figures are that kind's.
    const one = await usageReport(meta, () => meta.lastJobEventId(), 'uma', {
      granularity: 'day',
      from: now - 86_400_000,
      to: now + 60_000,
      kind: 'image.detect',
    })
    assert.deepEqual(Object.keys(one.totals.jobs), ['image.detect'])
    assert.equal(one.totals.jobs_ended, 3)
  } finally {
    await meta.close()
    await rm(dir, { recursive: true, force: true })
  }
})
