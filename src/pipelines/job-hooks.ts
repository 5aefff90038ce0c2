import { isTerminal, type JobEndListener } from '../jobs/index.ts'
import type { JobRecord, RunStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import { PipelineError } from './errors.ts'
import { queueAdvance } from './run-tasks.ts'

// What the job service and runner tell pipelines, wired in by the composition root: jobs know
// nothing of runs beyond the run id on their record.

/** A job of a run that ended: its run is looked at again. */
export function advanceRunOfJob(queue: Queue): JobEndListener {
  return async (job) => {
    if (job.runId) await queueAdvance(queue, job.runId, job.id)
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
