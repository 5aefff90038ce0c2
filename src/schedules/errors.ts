/** Stable codes of schedule errors (listed in docs/errors.md). */
export type ScheduleErrorCode = 'E_SCHEDULE_INVALID' | 'E_SCHEDULE_NOT_FOUND'

export class ScheduleError extends Error {
  readonly code: ScheduleErrorCode

  constructor(code: ScheduleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ScheduleError'
    this.code = code
  }
}
