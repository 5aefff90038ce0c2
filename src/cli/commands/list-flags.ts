// records.ts alone: meta's index loads the database drivers, which an HTTP command never uses.
import { JOB_STATES } from '../../meta/records.ts'
import { usageError } from '../errors.ts'

/**
 * `--state` of `piper jobs` and `piper runs` (a run's states are a job's), checked here so a
 * typo is a usage error (exit 2) like any other bad flag, not the gateway's 400 (exit 1).
 */
export function stateFlag(state: string | undefined): string | undefined {
  if (state === undefined || (JOB_STATES as readonly string[]).includes(state)) return state
  throw usageError(`--state must be one of ${JOB_STATES.join(', ')}, got "${state}"`)
}

/** `--limit`: a whole number from 1, or every item when not given. */
export function limitFlag(limit: string | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY
  const wanted = Number(limit)
  if (!Number.isInteger(wanted) || wanted < 1) {
    throw usageError(`--limit must be a whole number from 1, got "${limit}"`)
  }
  return wanted
}

/** The query of a listing of jobs or runs: its `--state`, checked, and `--newest`. */
export function listQuery(options: { state?: string; newest?: boolean }): {
  state?: string
  order?: string
} {
  return {
    state: stateFlag(options.state),
    ...(options.newest ? { order: 'newest' } : {}),
  }
}
