import {
  decodeTask,
  errorFromDeadLetter,
  isPermanentFailure,
  type JobRunner,
  TASK_TOPIC,
  type Task,
  WORKER_GROUP,
} from '../jobs/index.ts'
import { type ConsumerOptions, DLQ_HEADERS, dlqTopic, type Queue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { WorkerRuntime } from './worker-runtime.ts'

export interface JobWorkersOptions {
  queue: Queue
  runner: JobRunner
  logger: Logger
  concurrency: number
  consumer?: ConsumerOptions
  drainTimeoutMs?: number
}

/**
 * The two runtimes a worker process runs: one on job tasks, and one on their dead letters,
 * which marks the job failed with the reason, so a task dead-lettered without its worker
 * saying so (it crashed on the last delivery) still ends its job.
 */
export function jobWorkers(options: JobWorkersOptions): WorkerRuntime<unknown>[] {
  const { queue, runner, logger } = options
  const tasks = new WorkerRuntime<Task>({
    queue,
    logger,
    topic: TASK_TOPIC,
    group: WORKER_GROUP,
    concurrency: options.concurrency,
    consumer: options.consumer,
    drainTimeoutMs: options.drainTimeoutMs,
    decode: (message) => decodeTask(message.payload),
    handle: (task) => runner.run(task),
    giveUp: async (task, error) => {
      if (task) await runner.fail(task, error)
    },
    isPermanent: isPermanentFailure,
  })
  const deadLetters = new WorkerRuntime<{ task: Task; reason: string | undefined }>({
    queue,
    logger,
    topic: dlqTopic(TASK_TOPIC),
    group: 'job-failures',
    concurrency: 1,
    decode: (message) => ({
      task: decodeTask(message.payload),
      reason: message.headers[DLQ_HEADERS.reason],
    }),
    handle: ({ task, reason }) => runner.fail(task, errorFromDeadLetter(reason)),
    giveUp: async () => {},
    isPermanent: () => false,
  })
  return [tasks, deadLetters] as WorkerRuntime<unknown>[]
}
