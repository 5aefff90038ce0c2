import type { JobRecord } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import { JobError } from './errors.ts'

/** The group of the workers that run job tasks, on every kind's topic. */
export const WORKER_GROUP = 'workers'

/**
 * The topic of a kind's tasks: `jobs.<kind>`, so a worker serves a subset of kinds by consuming
 * only their topics (`piper up --kinds 'compress,image.*'`); a sharded step's jobs use one of
 * the kind's shard queues, `jobs.<kind>.<shard>` (a kind's name parts start with a letter, so
 * the two never collide).
 */
export function taskTopic(kind: string, shard?: number | null): string {
  return shard === undefined || shard === null ? `jobs.${kind}` : `jobs.${kind}.${shard}`
}

/** The kind and shard of a shard queue's topic name, or undefined for any other topic. */
export function shardOfTopic(topic: string): { kind: string; shard: number } | undefined {
  const match = /^jobs\.(.+)\.(\d+)$/.exec(topic)
  return match ? { kind: match[1]!, shard: Number(match[2]) } : undefined
}

/** Where tasks went before each kind had its topic; workers of every kind still drain it. */
export const LEGACY_TASK_TOPIC = 'jobs.tasks'

/**
 * The kind whose tasks a topic holds: `jobs.KIND`, or a shard's `jobs.KIND.N` (a kind's name
 * may hold dots: `jobs.image.detect.2`). Undefined for dead letters, other topics, and the
 * legacy `jobs.tasks`, whose tasks are of every kind.
 */
export function kindOfTaskTopic(topic: string): string | undefined {
  if (!topic.startsWith('jobs.') || topic.endsWith('.dlq') || topic === LEGACY_TASK_TOPIC) {
    return undefined
  }
  return shardOfTopic(topic)?.kind ?? topic.slice('jobs.'.length)
}

/**
 * A job's work on the queue. `start` plans the job, and runs a job of the `whole` shape itself;
 * `part` turns one input chunk into one output chunk; the last part to finish publishes `join`,
 * which commits the output. `stream` (a whole job in a task of its own) is what earlier
 * versions published; it is still run.
 */
export type Task = (
  | { kind: 'start'; job: string }
  | {
      kind: 'part'
      job: string
      seq: number
      total: number
      key: string
      size: number
      /** The chunk's byte-frequency table from upload, base64 of 256 little-endian u32. */
      frequencies?: string
    }
  | { kind: 'join'; job: string }
  | { kind: 'stream'; job: string }
) & {
  /** The job's try (`attempt`), when it was retried: its tasks are new to the queue. */
  attempt?: number
}

/**
 * Publishes one of the job's tasks on its kind's (or shard's) topic, under the task's
 * idempotency key; a retried job's tasks carry its attempt, so they are new to the queue.
 */
export async function publishTask(queue: Queue, job: JobRecord, task: Task): Promise<void> {
  const sent = job.attempt > 0 ? { ...task, attempt: job.attempt } : task
  await queue.publish(taskTopic(job.type, job.shard), encodeTask(sent), {
    idempotencyKey: taskKey(sent),
  })
}

/** The queue's idempotency key of a task: the same task published twice is stored once. */
export function taskKey(task: Task): string {
  const key = task.kind === 'part' ? `${task.job}:part:${task.seq}` : `${task.job}:${task.kind}`
  return task.attempt ? `${key}:${task.attempt}` : key
}

export function encodeTask(task: Task): Uint8Array {
  return Buffer.from(JSON.stringify(task))
}

const KINDS = new Set(['start', 'part', 'join', 'stream'])

export function decodeTask(payload: Uint8Array): Task {
  let task: unknown
  try {
    task = JSON.parse(Buffer.from(payload).toString('utf8'))
  } catch (error) {
    throw new JobError('E_JOB_TASK', 'a task message is not JSON', { cause: error })
  }
  const t = task as Partial<Record<string, unknown>>
  if (typeof t?.job !== 'string' || !KINDS.has(t.kind as string)) {
    throw new JobError('E_JOB_TASK', 'a task message names no job or kind')
  }
  if (
    t.kind === 'part' &&
    !(
      Number.isSafeInteger(t.seq) &&
      Number.isSafeInteger(t.total) &&
      Number.isSafeInteger(t.size) &&
      typeof t.key === 'string'
    )
  ) {
    throw new JobError('E_JOB_TASK', `part task of job ${t.job} is malformed`)
  }
  return task as Task
}

/** A frequency table as a part task carries it. */
export function frequenciesToBase64(table: Uint32Array): string {
  const bytes = Buffer.alloc(1024)
  for (let i = 0; i < 256; i++) bytes.writeUInt32LE(table[i] ?? 0, i * 4)
  return bytes.toString('base64')
}

export function frequenciesFromBase64(text: string): Uint32Array | undefined {
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length !== 1024) return undefined
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) table[i] = bytes.readUInt32LE(i * 4)
  return table
}
