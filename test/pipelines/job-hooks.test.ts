import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { it } from 'node:test'
import type { JobRecord } from '../../src/meta/index.ts'
import { advanceRunOfJob, newRunId, PendingAdvances, RUN_TOPIC } from '../../src/pipelines/index.ts'
import { EmbeddedQueue } from '../../src/queue/index.ts'
import { silent } from '../helpers/job-system.ts'

it('ends of a run share an advance queued here and not started; an end after it started queues its own', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'piper-hooks-'))
  const queue = new EmbeddedQueue({ dir, logger: silent })
  await queue.start()
  try {
    const pending = new PendingAdvances()
    const ended = advanceRunOfJob(queue, pending)
    // The hook reads a job's id and run: an ended job as far as it is concerned.
    const job = (id: string, runId: string) => ({ id, runId }) as JobRecord
    const queued = async () => (await queue.stats(RUN_TOPIC))[0]?.messages ?? 0
    const [run, other] = [newRunId(), newRunId()]
    await ended(job('job_a', run))
    await ended(job('job_b', run))
    await ended(job('job_c', other))
    assert.equal(await queued(), 2, 'one advance a run')
    // A worker starts the run's advance (`runWorkers` releases it before advancing): an end
    // from now on may not be read by it, so it queues one of its own.
    pending.release(run)
    await ended(job('job_d', run))
    assert.equal(await queued(), 3)
    await ended(job('job_e', run))
    assert.equal(await queued(), 3)
    // Without `pending` (a queue other processes consume), every end queues its own.
    await advanceRunOfJob(queue)(job('job_f', run))
    assert.equal(await queued(), 4)
    // An advance that could not be queued leaves the run unclaimed: the next end tries again.
    await queue.close()
    await ended(job('job_g', other)) // claimed by job_c, whose advance waits: nothing to queue
    pending.release(other)
    await assert.rejects(ended(job('job_h', other)))
    assert.equal(pending.claim(other), true, 'released when queueing failed')
  } finally {
    await queue.close()
    await rm(dir, { recursive: true, force: true })
  }
})
