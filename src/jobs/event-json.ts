import type { JobEvent } from '../meta/index.ts'

/**
 * An event as SSE `data` and webhook `data` (one shape for both): a job's state change carries
 * its changing fields, progress its counts; a run's (`run` instead of `job`) its state, or a
 * step's state and counts; a file's (`file`) whether it was created or deleted.
 */
export function eventJson(event: JobEvent) {
  const { data } = event
  if (event.type === 'step') return { run: event.jobId, ...data }
  if (event.type === 'download') {
    return { file: data.name, action: 'downloaded', bytes: data.bytes }
  }
  if (event.type === 'file') {
    return {
      file: data.name,
      action: data.action,
      size: data.size,
      sha256: data.sha256,
      content_type: data.contentType,
      ...(data.action === 'created' ? { replaced: data.replaced === true } : {}),
    }
  }
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
