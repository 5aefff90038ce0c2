import type { Logger } from '../telemetry/index.ts'
import type { PeriodicSweep } from './periodic-sweep.ts'

/**
 * Publishes a row just stored (a job's first task, a run's first advance) and marks it so. If
 * the queue does not answer, the row stays in its outbox — it is stored, and `sweeper` publishes
 * it as soon as the queue answers — so the caller is answered now rather than kept waiting on
 * the queue or told to retry what is already accepted. Any other error is thrown.
 */
export async function publishOrLeave(
  publish: () => Promise<void>,
  sweeper: PeriodicSweep,
  log: Logger,
  what: { job: string } | { run: string },
): Promise<void> {
  try {
    await publish()
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'E_QUEUE_UNAVAILABLE') throw error
    const noun = 'job' in what ? 'job' : 'run'
    log.warn(
      { ...what, err: error },
      `the queue did not answer: the ${noun} waits in the outbox until it does`,
    )
    sweeper.soon(1_000)
  }
}
