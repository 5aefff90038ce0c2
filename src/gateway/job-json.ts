import type { JobEvent, JobRecord } from '../meta/index.ts'

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

/**
 * An event as SSE `data`: a job's state change carries its changing fields, progress its
 * counts; a run's (`run` instead of `job`) its state, or a step's state and counts.
 */
export function eventJson(event: JobEvent) {
  const { data } = event
  if (event.type === 'step') return { run: event.jobId, ...data }
  if (data.run === true) {
    return {
      run: event.jobId,
      state: data.state,
      result: data.state === 'succeeded' ? data.result : null,
      error: data.error,
    }
  }
  if (event.type === 'progress') {
    return {
      job: event.jobId,
      chunks_done: data.chunksDone,
      chunks_total: data.chunksTotal,
      bytes_in: data.bytesIn,
      bytes_out: data.bytesOut,
    }
  }
  return {
    job: event.jobId,
    state: data.state,
    output: data.output,
    result: data.state === 'succeeded' ? data.result : null,
    error: data.error,
  }
}
