import type { Queue } from '../queue/index.ts'
import { PipelineError } from './errors.ts'

/** The topic of run advances, and the group of the workers that advance runs. */
export const RUN_TOPIC = 'runs.advance'
export const RUN_GROUP = 'run-engine'

/**
 * "Look at this run again": published when a run is created, when one of its jobs ends, and by
 * the sweep. Advancing is idempotent, so duplicates and stale ones cost a read and change
 * nothing.
 */
export interface AdvanceTask {
  run: string
}

export function encodeAdvance(task: AdvanceTask): Uint8Array {
  return Buffer.from(JSON.stringify(task))
}

export function decodeAdvance(payload: Uint8Array): AdvanceTask {
  let task: unknown
  try {
    task = JSON.parse(Buffer.from(payload).toString('utf8'))
  } catch (error) {
    throw new PipelineError('E_RUN_REQUEST', 'a run task is not JSON', { cause: error })
  }
  const run = (task as { run?: unknown } | null)?.run
  if (typeof run !== 'string' || !/^run_[0-9a-z]{9}[0-9a-f]{12}$/.test(run)) {
    throw new PipelineError('E_RUN_REQUEST', 'a run task names no run')
  }
  return { run }
}

/** Queues an advance of the run; `cause` makes its idempotency key (one advance per cause). */
export async function queueAdvance(queue: Queue, runId: string, cause: string): Promise<void> {
  await queue.publish(RUN_TOPIC, encodeAdvance({ run: runId }), {
    idempotencyKey: `${runId}:${cause}`,
  })
}
