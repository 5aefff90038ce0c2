import type { JobRecord } from '../meta/index.ts'

/** A job as the API shows it: figures once it succeeded, the error once it failed. */
export function jobJson(job: JobRecord) {
  return {
    id: job.id,
    type: job.type,
    state: job.state,
    input: job.input,
    ...(job.inputs ? { inputs: job.inputs } : {}),
    output: job.output === '' ? null : job.output,
    params: job.params,
    ...(job.runId
      ? {
          run: {
            id: job.runId,
            step: job.step,
            item: job.item,
            ...(job.shard === null ? {} : { shard: job.shard }),
          },
        }
      : {}),
    created: new Date(job.created).toISOString(),
    updated: new Date(job.updated).toISOString(),
    result: job.state === 'succeeded' ? job.result : null,
    error: job.error,
  }
}
