/** Stable codes of statistics errors (listed in docs/errors.md). */
export type StatsErrorCode = 'E_STATS_REQUEST'

export class StatsError extends Error {
  readonly code: StatsErrorCode

  constructor(code: StatsErrorCode, message: string) {
    super(message)
    this.name = 'StatsError'
    this.code = code
  }
}
