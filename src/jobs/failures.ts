import { CodecError } from '../codec/index.ts'
import { FileError } from '../files/index.ts'
import { ImageError } from '../images/index.ts'
import { MetaError } from '../meta/index.ts'
import { JobError } from './errors.ts'

/**
 * Whether a task's error will recur however often it is retried: bad compressed data, a
 * missing input, a malformed task. Such a task fails its job at once instead of retrying.
 */
export function isPermanentFailure(error: unknown): boolean {
  if (error instanceof CodecError || error instanceof JobError || error instanceof ImageError) {
    return true
  }
  if (error instanceof FileError) return error.code !== 'E_UPLOAD_TOO_LARGE'
  return error instanceof MetaError && error.code === 'E_UPLOAD_CONFLICT'
}

/**
 * The error a dead-lettered task carried, from its `piper-dlq-reason` header: `CODE: message`,
 * after the queue's own prefix (`terminated: `), or the queue's reason when it has no code.
 */
export function errorFromDeadLetter(reason: string | undefined): JobError {
  const match = /^(?:terminated: )?(E_[A-Z0-9_]+): ?([\s\S]*)$/.exec(reason ?? '')
  const error = new JobError('E_JOB_ATTEMPTS', match?.[2] || reason || 'the task was dead-lettered')
  if (match) Object.defineProperty(error, 'code', { value: match[1] })
  return error
}
