import type { FileService } from '../files/index.ts'
import type { JobRecord, MetaStore, NewJob, RecordPage } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { endJob } from './end-job.ts'
import { JobError } from './errors.ts'
import type { JobEventFeed } from './event-feed.ts'
import { isJobId, newJobId } from './job-id.ts'
import type { JobRequest } from './job-request.ts'
import type { JobEndListener } from './job-runner.ts'
import type { KindRegistry } from './kinds/index.ts'
import { publishOrLeave } from './outbox.ts'
import { PeriodicSweep } from './periodic-sweep.ts'
import { publishTask, taskTopic } from './tasks.ts'

export interface JobServiceOptions {
  meta: MetaStore
  queue: Queue
  files: FileService
  feed: JobEventFeed
  logger: Logger
  kinds: KindRegistry
  /** Told when a cancel ends a job (a run's job: its run moves on). */
  onEnded?: JobEndListener
  /** Refuses to retry a job whose retry would be lost (a job of a run that has ended). */
  canRetry?: (job: JobRecord) => Promise<void>
  /** How often the outbox is swept for jobs whose first task never reached the queue. */
  sweepIntervalMs?: number
  /** Whether this process leads the periodic sweep now (default: always; see `PeriodicSweep`). */
  leadSweep?: () => Promise<boolean>
}

/** One job of `createMany`: its request, idempotency key and place in a run. */
export interface NewJobItem {
  request: JobRequest
  idempotencyKey?: string
  run?: NewJob['run']
}

/** Where a test may kill the process: after the job record, before its publish. */
const FAILPOINT = process.env.PIPER_FAILPOINT

/**
 * Creating, reading and cancelling jobs. A new job is written to the metadata store first and
 * then published; the `published` flag is the outbox, and `start()` (then every sweep) publishes
 * whatever a crash left unpublished. Publishing twice is harmless: the queue drops a repeated
 * task key, and the start task moves a job out of `queued` only once.
 */
export class JobService {
  readonly name = 'jobs'
  readonly #meta: MetaStore
  readonly #queue: Queue
  readonly #files: FileService
  readonly #feed: JobEventFeed
  readonly #log: Logger
  readonly #sweeper: PeriodicSweep
  /** Ids published and not yet marked so, and the mark that will take them (`#markPublished`). */
  #unmarked: string[] = []
  #marking: Promise<void> | undefined
  readonly #kinds: KindRegistry
  readonly #onEnded: JobEndListener | undefined
  readonly #canRetry: ((job: JobRecord) => Promise<void>) | undefined

  constructor(options: JobServiceOptions) {
    this.#meta = options.meta
    this.#queue = options.queue
    this.#files = options.files
    this.#feed = options.feed
    this.#log = options.logger.child({ component: 'jobs' })
    const interval = options.sweepIntervalMs ?? 30_000
    this.#sweeper = new PeriodicSweep(
      'outbox sweep',
      (b) => this.#sweep(b),
      interval,
      this.#log,
      options.leadSweep,
    )
    this.#kinds = options.kinds
    this.#onEnded = options.onEnded
    this.#canRetry = options.canRetry
  }

  async start(): Promise<void> {
    for (const name of this.#kinds.names) await this.#queue.ensureTopic(taskTopic(name))
    await this.#sweeper.start()
  }

  close(): Promise<void> {
    return this.#sweeper.close()
  }

  /**
   * Creates the job (or returns the one made with the same idempotency key) and queues it.
   * `E_FILE_NOT_FOUND` when the input does not exist.
   */
  async create(
    clientId: string,
    request: JobRequest,
    idempotencyKey?: string,
    run?: NewJob['run'],
  ): Promise<{ job: JobRecord; created: boolean }> {
    await this.checkInputs(clientId, request)
    const [result] = await this.createMany(clientId, [{ request, idempotencyKey, run }])
    return result!
  }

  /** `E_FILE_NOT_FOUND` unless every input of the request exists. */
  async checkInputs(clientId: string, request: JobRequest): Promise<void> {
    for (const name of request.inputs ?? [request.input]) await this.#files.stat(clientId, name)
  }

  /**
   * Creates several jobs at once, as `create` does each (a run's fan-out): one statement or
   * transaction for them all, their first tasks published together and marked so in one
   * statement. The caller has checked their inputs (`checkInputs`).
   */
  async createMany(
    clientId: string,
    items: readonly NewJobItem[],
  ): Promise<{ job: JobRecord; created: boolean }[]> {
    const results = await this.#meta.createJobs(
      items.map(({ request, idempotencyKey, run }) => ({
        id: newJobId(),
        clientId,
        type: request.type,
        input: request.input,
        inputs: request.inputs,
        output: request.output,
        params: { ...request.params },
        idempotencyKey,
        run,
      })),
    )
    this.#feed.notify()
    const created = results.filter((result) => result.created).map((result) => result.job)
    if (created.length === 0) return results
    if (FAILPOINT === 'job-created') process.kill(process.pid, 'SIGKILL')
    await publishOrLeave(() => this.#publish(created), this.#sweeper, this.#log, {
      job: created.map((job) => job.id).join(', '),
    })
    for (const job of created) {
      this.#log.debug({ job: job.id, type: job.type, client: clientId }, 'job created')
    }
    return results
  }

  async get(clientId: string, id: string): Promise<JobRecord> {
    const job = isJobId(id) ? await this.#meta.getJob(clientId, id) : undefined
    if (!job) throw new JobError('E_JOB_NOT_FOUND', `no job ${JSON.stringify(id)}`)
    return job
  }

  list(clientId: string, page: RecordPage) {
    return this.#meta.listJobs(clientId, page)
  }

  /**
   * Cancels a queued or running job and frees its partial output. Its tasks still on the queue
   * find it cancelled and do nothing. `E_JOB_FINISHED` when it already ended.
   */
  async cancel(clientId: string, id: string): Promise<JobRecord> {
    const deps = { meta: this.#meta, files: this.#files, feed: this.#feed, log: this.#log }
    const { job, ended } = await endJob(deps, () => this.get(clientId, id), { state: 'cancelled' })
    if (!ended) throw new JobError('E_JOB_FINISHED', `job ${id} already ${job!.state}`)
    this.#log.info({ job: id }, 'job cancelled')
    await this.#onEnded?.(job!)
    return job!
  }

  /**
   * A failed job back on the queue for another try, from its start (its partial output was
   * freed when it failed). `E_JOB_NOT_FAILED` (409) unless it failed.
   */
  async retry(clientId: string, id: string): Promise<JobRecord> {
    for (;;) {
      const job = await this.get(clientId, id)
      if (job.state !== 'failed') {
        throw new JobError(
          'E_JOB_NOT_FAILED',
          `job ${id} is ${job.state}; only a failed job is retried`,
        )
      }
      await this.#canRetry?.(job)
      const again = await this.#meta.retryJob(job.id, job.version)
      if (!again) continue // it changed meanwhile: look again
      this.#feed.notify()
      await publishOrLeave(() => this.#publish([again]), this.#sweeper, this.#log, {
        job: again.id,
      })
      this.#log.info({ job: id, attempt: again.attempt }, 'job retried')
      return again
    }
  }

  /** Queues the jobs' start tasks on their kinds' topics and marks them published (the outbox). */
  async #publish(jobs: readonly JobRecord[]): Promise<void> {
    await Promise.all(
      jobs.map((job) => publishTask(this.#queue, job, { kind: 'start', job: job.id })),
    )
    await this.#markPublished(jobs.map((job) => job.id))
  }

  /**
   * Marks jobs published together with those of every other request in this turn of the event
   * loop: a burst of posts costs a few statements rather than one each (200 at once through a
   * cluster's gateway). Each caller waits for the statement that marks its own.
   */
  #markPublished(ids: readonly string[]): Promise<void> {
    this.#unmarked.push(...ids)
    this.#marking ??= new Promise((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.#unmarked
      this.#unmarked = []
      this.#marking = undefined
      return this.#meta.markJobsPublished(batch)
    })
    return this.#marking
  }

  /** Publishes jobs created before `before` that are not marked published. */
  async #sweep(before: number): Promise<void> {
    for (;;) {
      const jobs = await this.#meta.unpublishedJobs(before, 100)
      await this.#publish(jobs)
      for (const job of jobs) {
        this.#log.warn({ job: job.id }, 'published a job a crash had left unpublished')
      }
      if (jobs.length < 100) return
    }
  }
}
