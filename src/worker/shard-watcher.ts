import { PeriodicSweep, shardOfTopic } from '../jobs/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { type JobWorkersOptions, topicWorkers } from './job-workers.ts'
import type { WorkerRuntime } from './worker-runtime.ts'

export interface ShardWatcherOptions extends JobWorkersOptions {
  /** How often the queue's topics are listed for new shard queues (default 5 s). */
  intervalMs?: number
}

/**
 * Serves the shard queues (`jobs.<kind>.<n>`) of this process's kinds as they appear. A
 * pipeline step with `shards: N` spreads its items over N such queues, created when the first
 * item is published; the watcher lists the queue's topics at start and every interval, and
 * starts the workers of each new shard queue of a kind it serves.
 */
export class ShardWatcher {
  readonly name = 'shard-watcher'
  readonly #o: ShardWatcherOptions
  readonly #log: Logger
  readonly #kinds: Set<string>
  readonly #served = new Map<string, WorkerRuntime<unknown>[]>()
  readonly #sweeper: PeriodicSweep
  #closed = false

  constructor(options: ShardWatcherOptions) {
    this.#o = options
    this.#log = options.logger.child({ component: 'shard-watcher' })
    this.#kinds = new Set(options.kinds.map((kind) => kind.name))
    const interval = options.intervalMs ?? 5_000
    this.#sweeper = new PeriodicSweep('shard queue scan', () => this.scan(), interval, this.#log)
  }

  /** The shard queues served so far. */
  get topics(): string[] {
    return [...this.#served.keys()]
  }

  start(): Promise<void> {
    return this.#sweeper.start()
  }

  /** Lists the topics once and starts the workers of shard queues not yet served. */
  async scan(): Promise<void> {
    for (const { topic } of await this.#o.queue.stats()) {
      const shard = shardOfTopic(topic)
      if (!shard || !this.#kinds.has(shard.kind) || this.#served.has(topic) || this.#closed)
        continue
      const runtimes = topicWorkers(this.#o, topic)
      this.#served.set(topic, runtimes)
      for (const runtime of runtimes) await runtime.start()
      this.#log.info({ topic }, 'serving a shard queue')
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    await this.#sweeper.close()
    await Promise.all([...this.#served.values()].flat().map((runtime) => runtime.close()))
  }
}
