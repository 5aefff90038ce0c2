import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import { historyRetention } from '../../src/app/history-retention.ts'
import { newJobId } from '../../src/jobs/index.ts'
import { SqliteDriver, SqlMetaStore } from '../../src/meta/index.ts'
import { createLogger } from '../../src/telemetry/index.ts'

const DAY = 24 * 3_600_000
const T0 = 1_800_000_000_000

it('history retention deletes, batch after batch, every ended job older than the retention, and nothing with 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-history-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  t.mock.timers.enable({ apis: ['Date'], now: T0 })
  t.after(() => t.mock.timers.reset())
  const meta = new SqlMetaStore(new SqliteDriver(join(dir, 'meta.db')))
  await meta.start()
  t.after(() => meta.close())
  // More than two batches of 500.
  const made = await meta.createJobs(
    Array.from({ length: 1_201 }, (_, i) => ({
      id: newJobId(),
      clientId: 'ines',
      type: 'hash',
      input: `in/${i}`,
      output: `out/${i}`,
      params: {},
    })),
  )
  for (const { job } of made) {
    const running = await meta.updateJob(job.id, job.version, { state: 'running' })
    await meta.updateJob(job.id, running!.version, { state: 'succeeded', result: {} })
  }
  const logger = createLogger({ level: 'silent' })
  const later = () => T0 + 31 * DAY
  const keepAll = historyRetention({ meta, logger, retentionMs: 0, now: later })
  assert.equal((await keepAll()).jobs, 0, '0 keeps everything')
  const kept32 = historyRetention({ meta, logger, retentionMs: 32 * DAY, now: later })
  assert.equal((await kept32()).jobs, 0, 'not old enough')
  const prune = historyRetention({ meta, logger, retentionMs: 30 * DAY, now: later })
  const pruned = await prune()
  assert.equal(pruned.jobs, 1_201)
  assert.equal(pruned.events, 1_201 * 3, 'created, running, succeeded')
  assert.equal((await meta.jobEvents({ after: 0, limit: 10 })).length, 0)
  assert.equal((await meta.listJobs('ines', { limit: 10 })).length, 0)
  assert.equal((await prune()).jobs, 0, 'a second pass finds nothing')
})
