import { createHash } from 'node:crypto'
import { decodeTask, JobError, type JobService } from '../jobs/index.ts'
import type { MetaStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'

/** A dead-letter topic of job tasks: `jobs.<kind>.dlq`, `jobs.<kind>.<shard>.dlq`, `jobs.tasks.dlq`. */
const JOB_DLQ = /^jobs\.[a-z0-9.-]+\.dlq$/

export interface RedriveResult {
  /** Jobs put back on the queue, by id. */
  redriven: string[]
  /** Jobs left as they are, with why (already retried, not failed, their run ended). */
  skipped: { job: string; reason: string }[]
}

/**
 * Dead-lettered job tasks and their redrive. A task is dead-lettered after its last delivery,
 * and its job failed with the reason; redriving a topic retries, from its start, every failed
 * job of the client that has a dead letter there not yet redriven (each client reads the topic
 * through a consumer group of its own, so one client's redrive neither sees nor uses up
 * another's letters).
 */
export class DeadLetters {
  readonly #queue: Queue
  readonly #jobs: JobService
  readonly #meta: MetaStore

  constructor(options: { queue: Queue; jobs: JobService; meta: MetaStore }) {
    this.#queue = options.queue
    this.#jobs = options.jobs
    this.#meta = options.meta
  }

  /** The job tasks' dead-letter topics and how many letters each holds. */
  async list(): Promise<{ topic: string; messages: number }[]> {
    return (await this.#queue.stats())
      .filter((t) => JOB_DLQ.test(t.topic))
      .map((t) => ({ topic: t.topic, messages: t.messages }))
  }

  async redrive(clientId: string, topic: string): Promise<RedriveResult> {
    if (!JOB_DLQ.test(topic)) {
      throw new JobError(
        'E_JOB_REQUEST',
        `${JSON.stringify(topic)} is not a dead-letter topic of job tasks (jobs.<kind>.dlq)`,
      )
    }
    const group = `redrive-${createHash('sha256').update(clientId).digest('hex').slice(0, 16)}`
    const consumer = await this.#queue.consumer(topic, group)
    const result: RedriveResult = { redriven: [], skipped: [] }
    const seen = new Set<string>()
    try {
      for (;;) {
        const letters = await consumer.fetch(100, 0)
        if (letters.length === 0) break
        for (const letter of letters) {
          await this.#one(clientId, letter.payload, seen, result)
          await consumer.ack(letter)
        }
      }
    } finally {
      await consumer.close()
    }
    return result
  }

  async #one(clientId: string, payload: Uint8Array, seen: Set<string>, result: RedriveResult) {
    let jobId: string
    try {
      jobId = decodeTask(payload).job
    } catch {
      return // not a task Piper wrote: nothing to retry
    }
    if (seen.has(jobId)) return
    seen.add(jobId)
    const job = await this.#meta.jobById(jobId)
    if (!job || job.clientId !== clientId) return // another client's letter
    try {
      await this.#jobs.retry(clientId, jobId)
      result.redriven.push(jobId)
    } catch (error) {
      const code = (error as { code?: string }).code
      if (code !== 'E_JOB_NOT_FAILED' && code !== 'E_RUN_FINISHED') throw error
      result.skipped.push({ job: jobId, reason: (error as Error).message })
    }
  }
}
