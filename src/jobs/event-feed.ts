import type { JobEvent, MetaStore } from '../meta/index.ts'

export interface EventQuery {
  clientId: string
  jobId?: string
  /** Events with an id above this one (an SSE `Last-Event-ID`). */
  after: number
}

export interface EventSubscription extends EventQuery {
  signal: AbortSignal
}

const PAGE = 500

/**
 * Job events as they are written, for live status. Events live in the metadata store, so a
 * reader resumes from any id without gaps; writers in this process `notify()` to wake readers at
 * once, and readers poll for writers in other processes.
 */
export class JobEventFeed {
  readonly #meta: MetaStore
  readonly #pollMs: number
  readonly #waiters = new Set<() => void>()

  constructor(meta: MetaStore, options: { pollMs?: number } = {}) {
    this.#meta = meta
    this.#pollMs = options.pollMs ?? 500
  }

  /** Wakes every reader: an event was just written. */
  notify(): void {
    for (const wake of this.#waiters) wake()
    this.#waiters.clear()
  }

  /** The id of the newest event, to follow only what comes next. */
  latest(): Promise<number> {
    return this.#meta.lastJobEventId()
  }

  /** The events written so far, in id order. */
  async *backlog(query: EventQuery): AsyncGenerator<JobEvent> {
    let after = query.after
    for (;;) {
      const events = await this.#meta.jobEvents({ ...query, after, limit: PAGE })
      yield* events
      if (events.length < PAGE) return
      after = events[events.length - 1]!.id
    }
  }

  /** The subscription's events in id order, as they are written, until its signal aborts. */
  async *subscribe(subscription: EventSubscription): AsyncGenerator<JobEvent> {
    const { signal, ...query } = subscription
    while (!signal.aborted) {
      for await (const event of this.backlog(query)) {
        query.after = event.id
        yield event
      }
      await this.#wait(signal)
    }
  }

  #wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        this.#waiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, this.#pollMs)
      signal.addEventListener('abort', done, { once: true })
      this.#waiters.add(done)
    })
  }
}
