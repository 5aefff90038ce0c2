import {
  decodeTask,
  errorFromDeadLetter,
  isPermanentFailure,
  type JobKind,
  type JobRunner,
  LEGACY_TASK_TOPIC,
  type Task,
  taskTopic,
  WORKER_GROUP,
} from '../jobs/index.ts'
import { type ConsumerOptions, DLQ_HEADERS, dlqTopic, type Queue } from '../queue/index.ts'
import type { Logger, Registry } from '../telemetry/index.ts'
import { WorkerRuntime } from './worker-runtime.ts'

/** How long dead-lettered job tasks are kept for a redrive. */
export const DEAD_LETTER_AGE_MS = 14 * 24 * 3600 * 1000

export interface JobWorkersOptions {
  queue: Queue
  runner: JobRunner
  logger: Logger
  /** The kinds this process runs: it consumes only their topics. */
  kinds: readonly JobKind[]
  /** Tasks of one kind run at once. */
  concurrency: number
  consumer?: ConsumerOptions
  drainTimeoutMs?: number
  /** Also drain `jobs.tasks`, where tasks went before each kind had a topic (default true). */
  legacyTopic?: boolean
  metrics?: Registry
}

/**
 * The runtimes a worker process runs for its kinds: one on each kind's task topic, and one on
 * each topic's dead letters, which marks the job failed with the reason, so a task
 * dead-lettered without its worker saying so (it crashed on the last delivery) still ends its
 * job.
 */
export function jobWorkers(options: JobWorkersOptions): WorkerRuntime<unknown>[] {
  const topics = options.kinds.map((kind) => taskTopic(kind.name))
  if (options.legacyTopic ?? true) topics.push(LEGACY_TASK_TOPIC)
  return topics.flatMap((topic) => topicWorkers(options, topic))
}

/** The two runtimes of one task topic: its tasks, and its dead letters. */
export function topicWorkers(options: JobWorkersOptions, topic: string): WorkerRuntime<unknown>[] {
  return [taskWorkers(options, topic), deadLetterWorkers(options, topic)]
}

function taskWorkers(options: JobWorkersOptions, topic: string): WorkerRuntime<unknown> {
  const { queue, runner, logger } = options
  return new WorkerRuntime<Task>({
    queue,
    logger,
    topic,
    group: WORKER_GROUP,
    concurrency: options.concurrency,
    consumer: options.consumer,
    drainTimeoutMs: options.drainTimeoutMs,
    metrics: options.metrics,
    decode: (message) => decodeTask(message.payload),
    handle: (task) => runner.run(task),
    giveUp: async (task, error) => {
      if (task) await runner.fail(task, error)
    },
    isPermanent: isPermanentFailure,
  }) as WorkerRuntime<unknown>
}

function deadLetterWorkers(options: JobWorkersOptions, topic: string): WorkerRuntime<unknown> {
  const { queue, runner, logger } = options
  return new WorkerRuntime<{ task: Task; reason: string | undefined }>({
    queue,
    logger,
    topic: dlqTopic(topic),
    // Letters stay after this group has read them, for a redrive (each client reads them in a
    // group of its own), until they are two weeks old.
    topicOptions: { deleteAcked: false, maxAgeMs: DEAD_LETTER_AGE_MS },
    group: 'job-failures',
    concurrency: 1,
    decode: (message) => ({
      task: decodeTask(message.payload),
      reason: message.headers[DLQ_HEADERS.reason],
    }),
    handle: ({ task, reason }) => runner.fail(task, errorFromDeadLetter(reason)),
    giveUp: async () => {},
    isPermanent: () => false,
  }) as WorkerRuntime<unknown>
}
