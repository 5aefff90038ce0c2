import { randomBytes } from 'node:crypto'

/** A run id that sorts by creation time, as job ids do: `run_`, base-36 time, 12 hex digits. */
export function newRunId(now = Date.now()): string {
  return `run_${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`
}

const RUN_ID = /^run_[0-9a-z]{9}[0-9a-f]{12}$/

export function isRunId(text: string): boolean {
  return RUN_ID.test(text)
}
