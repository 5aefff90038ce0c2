import type { JobEvent, JobRecord } from '../meta/index.ts'

/** A job as the API shows it: figures once it succeeded, the error once it failed. */
export function jobJson(job: JobRecord) {
  return {
    id: job.id,
    type: job.type,
    state: job.state,
    input: job.input,
    output: job.output,
    params: job.params,
    created: new Date(job.created).toISOString(),
    updated: new Date(job.updated).toISOString(),
    result: job.state === 'succeeded' ? job.result : null,
    error: job.error,
  }
}

/** An event as SSE `data`: a state change carries the job's changing fields, progress its counts. */
export function eventJson(event: JobEvent) {
  const { data } = event
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
