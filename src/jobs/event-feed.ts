import type { EventSignals, JobEvent, Listener, MetaStore } from '../meta/index.ts'

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

/** A live reader: told when an event it may want was written. */
interface Subscriber {
  clientId: string
  jobId?: string
  /** Set when a matching event arrived since the subscriber last read. */
  dirty: boolean
  wake: (() => void) | undefined
}

/** How long a notified look waits for the writes that come with it (live status stays live). */
const NOTIFY_MS = 5

/** What the poller read last: every event with an id in (`after`, the last one's], in order. */
interface Page {
  after: number
  events: JobEvent[]
}

/**
 * Whether `event` is one `query` reads (as the store's `jobEvents` selects them), and so one
 * that wakes a subscriber of that client and job.
 */
function wants(query: Pick<EventQuery, 'clientId' | 'jobId'>, event: JobEvent): boolean {
  if (query.jobId) {
    return event.jobId === query.jobId && (!query.clientId || event.clientId === query.clientId)
  }
  return !query.clientId || event.clientId === query.clientId
}

/**
 * Job events as they are written, for live status. Events live in the metadata store, so a
 * reader resumes from any id without gaps.
 *
 * One poller per process, not one per reader: while anyone subscribes, it reads the events
 * written since its last look (by any process) every `pollMs`, or at once when a writer in
 * this process calls `notify()` or, with `signals`, another process's commit is announced
 * (PostgreSQL `LISTEN`, on one connection from the first subscriber until `close()`); it wakes
 * only the readers of the clients and jobs they belong to, and those take their events from
 * what it read (or, if they fell behind it, read their own backlog). A thousand event streams
 * cost one query per interval, or per look when they are busy; the interval is what is left
 * when a signal is lost.
 */
export class JobEventFeed {
  readonly name = 'event-feed'
  readonly #meta: MetaStore
  readonly #signals: EventSignals | undefined
  #listener: Listener | undefined
  #closed = false
  readonly #pollMs: number
  readonly #subscribers = new Set<Subscriber>()
  #cursor: number | undefined
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined
  #again = false
  #notified: NodeJS.Timeout | undefined
  #page: Page | undefined

  constructor(meta: MetaStore, options: { pollMs?: number; signals?: EventSignals } = {}) {
    this.#meta = meta
    this.#signals = options.signals
    this.#pollMs = options.pollMs ?? 500
  }

  async start(): Promise<void> {}

  /** Stops listening for other processes' commits (readers end with their own signals). */
  async close(): Promise<void> {
    this.#closed = true
    this.#stopPolling()
    await this.#listener?.close()
  }

  /**
   * An event was just written, by this process or (announced) another: look within `NOTIFY_MS`
   * rather than at the next interval. The writes of a busy moment (hundreds a second) share one look.
   */
  notify(): void {
    if (this.#subscribers.size === 0 || this.#notified) return
    this.#notified = setTimeout(() => {
      this.#notified = undefined
      this.#poll()
    }, NOTIFY_MS)
    this.#notified.unref()
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
    // Registered before the first read: an event written after it marks it dirty, one written
    // before is in what it reads, so none falls between.
    const subscriber: Subscriber = {
      clientId: query.clientId,
      jobId: query.jobId,
      dirty: false,
      wake: undefined,
    }
    this.#subscribers.add(subscriber)
    this.#startPolling()
    try {
      while (!signal.aborted) {
        subscriber.dirty = false
        yield* this.#news(query)
        if (!subscriber.dirty) await this.#wait(subscriber, signal)
      }
    } finally {
      this.#subscribers.delete(subscriber)
      if (this.#subscribers.size === 0) this.#stopPolling()
    }
  }

  /**
   * The reader's events after `query.after`, which moves past each one read. A reader that had
   * read up to where the poller's last look began takes them from its page, which holds every
   * event since (with many streams open, one query per look rather than one each); a reader
   * further behind reads its backlog from the store.
   */
  async *#news(query: EventQuery): AsyncGenerator<JobEvent> {
    const page = this.#page
    if (page && query.after >= page.after) {
      for (const event of page.events) {
        if (event.id <= query.after) continue
        query.after = event.id
        if (wants(query, event)) yield event
      }
      return
    }
    // Every event up to the poller's cursor was visible before this read began (ids become
    // visible in order), so once the read is done the reader is past all of them — its own and
    // others' — and the next page serves it.
    const visible = this.#cursor
    for await (const event of this.backlog(query)) {
      query.after = event.id
      yield event
    }
    if (visible !== undefined && visible > query.after) query.after = visible
  }

  #wait(subscriber: Subscriber, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        subscriber.wake = undefined
        signal.removeEventListener('abort', done)
        resolve()
      }
      subscriber.wake = done
      signal.addEventListener('abort', done, { once: true })
    })
  }

  #startPolling(): void {
    if (!this.#listener && !this.#closed) {
      this.#listener = this.#signals?.listenForEvents(() => this.notify())
    }
    if (this.#timer) return
    this.#timer = setInterval(() => this.#poll(), this.#pollMs)
    this.#timer.unref()
  }

  #stopPolling(): void {
    clearInterval(this.#timer)
    clearTimeout(this.#notified)
    this.#notified = undefined
    this.#timer = undefined
    this.#cursor = undefined
    this.#page = undefined
  }

  /** One look at what was written since the last; a look asked for meanwhile runs after it. */
  #poll(): void {
    if (this.#polling) {
      this.#again = true
      return
    }
    this.#polling = this.#look()
      .catch(() => {
        // The store is unreachable: readers stay as they are; the next interval tries again.
      })
      .finally(() => {
        this.#polling = undefined
        if (this.#again) {
          this.#again = false
          this.#poll()
        }
      })
  }

  async #look(): Promise<void> {
    if (this.#cursor === undefined) {
      // Readers registered before this read their backlog after it: the poller starts at the
      // newest event, and still wakes everyone once, in case one came in between.
      this.#cursor = await this.#meta.lastJobEventId()
      for (const s of this.#subscribers) this.#mark(s)
      return
    }
    for (;;) {
      const after = this.#cursor
      const events = await this.#meta.jobEvents({ after, limit: PAGE })
      if (events.length === 0) return
      this.#page = { after, events }
      this.#cursor = events[events.length - 1]!.id
      for (const s of this.#subscribers) {
        if (events.some((e) => wants(s, e))) this.#mark(s)
      }
      if (events.length < PAGE) return
    }
  }

  #mark(subscriber: Subscriber): void {
    subscriber.dirty = true
    subscriber.wake?.()
  }
}
