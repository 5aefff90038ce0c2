import type {
  Consumer,
  ConsumerOptions,
  Queue,
  QueueMessage,
  TopicOptions,
} from '../queue/index.ts'
import {
  contextFrom,
  type Histogram,
  inSpan,
  type Logger,
  type Registry,
  SpanKind,
  taskDuration,
} from '../telemetry/index.ts'

export interface WorkerRuntimeOptions<T> {
  queue: Queue
  topic: string
  group: string
  logger: Logger
  /** Tasks run at once (the codec pool bounds the CPU work under them). */
  concurrency: number
  /** Turns a message into a task; a throw is permanent (the message is malformed). */
  decode: (message: QueueMessage) => T
  /** Runs a task; a throw retries it with backoff unless `isPermanent` says otherwise. */
  handle: (task: T) => Promise<void>
  /** Called once a task will not be retried (a permanent error, or the last delivery). */
  giveUp: (task: T | undefined, error: unknown) => Promise<void>
  isPermanent: (error: unknown) => boolean
  consumer?: ConsumerOptions
  /** Options of the topic, set when the runtime starts (it creates the topic if need be). */
  topicOptions?: TopicOptions
  /** How long `close()` lets running tasks finish before releasing their leases. */
  drainTimeoutMs?: number
  /** Where tasks are counted and timed (`piper_worker_task_duration_seconds`). */
  metrics?: Registry
}

const DEFAULT_ACK_WAIT_MS = 30_000
const DEFAULT_MAX_DELIVER = 5
/** How long a fetch waits for messages when there are none. */
const FETCH_WAIT_MS = 500

/**
 * Pulls tasks from a queue group and runs up to `concurrency` at once. A running task's lease is
 * extended every third of the ack wait, so long tasks are not redelivered under it. A failure
 * is nacked (the queue backs off) until its last delivery, then given up and dead-lettered
 * with the reason. `close()` stops fetching, lets running tasks finish (or, after the drain
 * timeout, releases their leases to other workers) and leaves the group.
 */
export class WorkerRuntime<T> {
  readonly name = 'workers'
  readonly #o: WorkerRuntimeOptions<T>
  readonly #log: Logger
  readonly #timings: Histogram<'topic' | 'outcome'> | undefined
  readonly #running = new Set<Promise<void>>()
  readonly #held = new Set<QueueMessage>()
  #consumer: Consumer | undefined
  #loop: Promise<void> | undefined
  #closing: Promise<void> | undefined
  #stopped = false

  constructor(options: WorkerRuntimeOptions<T>) {
    this.#o = options
    this.#log = options.logger.child({ component: 'workers', topic: options.topic })
    this.#timings = options.metrics ? taskDuration(options.metrics) : undefined
  }

  get ackWaitMs(): number {
    return this.#o.consumer?.ackWaitMs ?? DEFAULT_ACK_WAIT_MS
  }

  get maxDeliver(): number {
    return this.#o.consumer?.maxDeliver ?? DEFAULT_MAX_DELIVER
  }

  async start(): Promise<void> {
    await this.#o.queue.ensureTopic(this.#o.topic, this.#o.topicOptions)
    this.#consumer = await this.#o.queue.consumer(this.#o.topic, this.#o.group, this.#o.consumer)
    this.#loop = this.#pull(this.#consumer)
    // One line a topic at debug: a process serves dozens (two for each kind), and its
    // composition root says what it started in one line at info.
    this.#log.debug({ concurrency: this.#o.concurrency }, 'workers started')
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#stopped = true
    // A fetch in flight ends within its wait, unless the queue server is gone: then it would
    // hold shutdown until its request timed out (30 s). It is not waited for beyond its wait;
    // what it brings later is handed back (`#pull`).
    let waited: NodeJS.Timeout | undefined
    await Promise.race([
      this.#loop,
      new Promise((resolve) => {
        waited = setTimeout(resolve, FETCH_WAIT_MS * 2)
      }),
    ])
    clearTimeout(waited)
    const drained = Promise.all(this.#running).then(() => true)
    const timeout = new Promise<false>((resolve) =>
      setTimeout(() => resolve(false), this.#o.drainTimeoutMs ?? 30_000).unref(),
    )
    if (!(await Promise.race([drained, timeout]))) {
      this.#log.warn({ tasks: this.#held.size }, 'tasks still running: releasing their leases')
      await Promise.allSettled([...this.#held].map((m) => this.#consumer?.nack(m, 0)))
    }
    await this.#consumer?.close()
    this.#log.debug('workers stopped')
  }

  async #pull(consumer: Consumer): Promise<void> {
    while (!this.#stopped) {
      const free = this.#o.concurrency - this.#running.size
      if (free <= 0) {
        await Promise.race(this.#running)
        continue
      }
      let messages: QueueMessage[]
      try {
        messages = await consumer.fetch(free, FETCH_WAIT_MS)
      } catch (error) {
        if (this.#stopped) return
        this.#log.warn({ err: error }, 'fetch failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        continue
      }
      if (this.#stopped) {
        // Closing: other workers take them now (or, with the consumer gone, when leases end).
        await Promise.allSettled(messages.map((message) => consumer.nack(message, 0)))
        return
      }
      for (const message of messages) {
        const run = this.#run(consumer, message).finally(() => this.#running.delete(run))
        this.#running.add(run)
      }
    }
  }

  async #run(consumer: Consumer, message: QueueMessage): Promise<void> {
    this.#held.add(message)
    const heartbeat = setInterval(() => {
      consumer.inProgress(message).catch(() => {})
    }, this.ackWaitMs / 3)
    let task: T | undefined
    const timer = this.#timings?.startTimer({ topic: this.#o.topic })
    try {
      task = this.#o.decode(message)
      const decoded = task
      // The task's span joins the trace of whoever queued it (the message's `traceparent`).
      await inSpan(
        `${this.#o.topic} process`,
        {
          kind: SpanKind.CONSUMER,
          parent: contextFrom(message.headers),
          attributes: {
            'messaging.destination.name': this.#o.topic,
            'messaging.message.id': String(message.offset),
            'messaging.consumer.group.name': this.#o.group,
          },
        },
        () => this.#o.handle(decoded),
      )
      await consumer.ack(message)
      timer?.({ outcome: 'ok' })
    } catch (error) {
      const outcome = await this.#failed(consumer, message, task, error).catch(
        (failure: unknown) => {
          this.#log.error({ err: failure, offset: message.offset }, 'could not settle a task')
          return 'failed' as const
        },
      )
      timer?.({ outcome })
    } finally {
      clearInterval(heartbeat)
      this.#held.delete(message)
    }
  }

  async #failed(
    consumer: Consumer,
    message: QueueMessage,
    task: T | undefined,
    error: unknown,
  ): Promise<'retried' | 'failed'> {
    const permanent = task === undefined || this.#o.isPermanent(error)
    const last = message.deliveries >= this.maxDeliver
    const log = this.#log.child({ offset: message.offset, deliveries: message.deliveries })
    if (!permanent && !last) {
      log.warn({ err: error }, 'task failed; it will be retried')
      await consumer.nack(message)
      return 'retried'
    }
    log.warn({ err: error, permanent }, 'task failed for good')
    await this.#o.giveUp(task, error)
    const reason = (error as { code?: string }).code ?? 'E_INTERNAL'
    await consumer.term(message, `${reason}: ${(error as Error).message ?? String(error)}`)
    return 'failed'
  }
}
