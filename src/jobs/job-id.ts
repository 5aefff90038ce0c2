import { randomBytes } from 'node:crypto'

/**
 * A job id that sorts by creation time (listings page by id): `job_`, the time in base 36
 * (fixed width until the year 5188), then 12 random hex digits.
 */
export function newJobId(now = Date.now()): string {
  return `job_${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`
}

const JOB_ID = /^job_[0-9a-z]{9}[0-9a-f]{12}$/

export function isJobId(text: string): boolean {
  return JOB_ID.test(text)
}
