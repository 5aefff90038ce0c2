import { isTerminal, type JobEndListener } from '../jobs/index.ts'
import type { JobRecord, RunStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import { PipelineError } from './errors.ts'
import type { PendingAdvances } from './pending-advances.ts'
import { queueAdvance } from './run-tasks.ts'

// What the job service and runner tell pipelines, wired in by the composition root: jobs know
// nothing of runs beyond the run id on their record.

/**
 * A job of a run that ended: its run is looked at again, by an advance queued for it unless
 * `pending` knows of one queued here that has not started (`PendingAdvances`).
 */
export function advanceRunOfJob(queue: Queue, pending?: PendingAdvances): JobEndListener {
  return async (job) => {
    const runId = job.runId
    if (!runId || (pending && !pending.claim(runId))) return
    try {
      await queueAdvance(queue, runId, job.id)
    } catch (error) {
      pending?.release(runId)
      throw error
    }
  }
}

/** A job of a run that has ended stays failed: retrying it would feed no step. */
export function refuseRetryInEndedRun(runs: RunStore): (job: JobRecord) => Promise<void> {
  return async (job) => {
    const run = job.runId ? await runs.runById(job.runId) : undefined
    if (run && isTerminal(run.state)) {
      throw new PipelineError(
        'E_RUN_FINISHED',
        `job ${job.id} belongs to run ${run.id}, which ${run.state}`,
      )
    }
  }
}
