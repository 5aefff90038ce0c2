import type { JobState } from '../meta/index.ts'

const TERMINAL: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled'])

/** Whether a job in this state has ended: nothing changes it any more. */
export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state)
}
