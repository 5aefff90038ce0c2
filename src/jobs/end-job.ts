import type { FileService } from '../files/index.ts'
import type { JobPatch, JobRecord, MetaStore } from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import type { JobEventFeed } from './event-feed.ts'
import { isTerminal } from './job-state.ts'

export interface EndJobDeps {
  meta: MetaStore
  files: FileService
  feed: JobEventFeed
  log: Logger
}

/**
 * Moves a job that has not ended to a final state (`patch`), by compare-and-set retried when a
 * concurrent change wins, then wakes readers and frees the output it had stored so far.
 * `ended` is false when the job had already ended (or is gone); `job` is as last seen.
 */
export async function endJob(
  deps: EndJobDeps,
  load: () => Promise<JobRecord | undefined>,
  patch: JobPatch,
): Promise<{ job: JobRecord | undefined; ended: boolean }> {
  for (;;) {
    const job = await load()
    if (!job || isTerminal(job.state)) return { job, ended: false }
    const ended = await deps.meta.updateJob(job.id, job.version, patch)
    if (!ended) continue
    deps.feed.notify()
    if (ended.uploadId) {
      await deps.files.abortUpload(ended.uploadId).catch((error: unknown) => {
        deps.log.warn({ err: error, job: job.id }, 'could not free partial output; gc will')
      })
    }
    return { job: ended, ended: true }
  }
}
