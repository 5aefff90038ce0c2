import {
  type AdvanceTask,
  decodeAdvance,
  type PendingAdvances,
  RUN_GROUP,
  RUN_TOPIC,
  type RunEngine,
} from '../pipelines/index.ts'
import type { ConsumerOptions, Queue } from '../queue/index.ts'
import type { Logger, Registry } from '../telemetry/index.ts'
import { WorkerRuntime } from './worker-runtime.ts'

export interface RunWorkersOptions {
  queue: Queue
  engine: RunEngine
  logger: Logger
  /** Runs advanced at once. */
  concurrency: number
  /** Runs with an advance queued here and not started (see `PendingAdvances`). */
  pending?: PendingAdvances
  consumer?: ConsumerOptions
  drainTimeoutMs?: number
  metrics?: Registry
}

/**
 * The runtime that advances pipeline runs. An advance that keeps failing is dead-lettered
 * (`runs.advance.dlq`); the sweep advances the run again later, so a run is never left behind
 * by a lost advance.
 */
export function runWorkers(options: RunWorkersOptions): WorkerRuntime<unknown> {
  const { queue, engine, logger } = options
  return new WorkerRuntime<AdvanceTask>({
    queue,
    logger,
    topic: RUN_TOPIC,
    group: RUN_GROUP,
    concurrency: options.concurrency,
    consumer: options.consumer,
    drainTimeoutMs: options.drainTimeoutMs,
    metrics: options.metrics,
    decode: (message) => decodeAdvance(message.payload),
    handle: (task) => {
      // Before the advance reads anything: a job that ends from now on queues its own.
      options.pending?.release(task.run)
      return engine.advance(task.run)
    },
    giveUp: async () => {},
    isPermanent: () => false,
  }) as WorkerRuntime<unknown>
}
