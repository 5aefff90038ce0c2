import { EventEmitter, on } from 'node:events'

/**
 * The status of a long task (a repair pass, a backup) for those who watch it: the last one, and
 * each change as it happens, a few a second at most (a task may touch millions of items).
 */
export class StatusFeed<S extends { id: number; state: string }> {
  readonly #updates = new EventEmitter()
  readonly #perSecond: number
  #last: S | undefined
  #shown = 0

  constructor(perSecond = 4) {
    this.#perSecond = perSecond
    this.#updates.setMaxListeners(0)
  }

  /** The task under way, or the last one. */
  get last(): S | undefined {
    return this.#last
  }

  /**
   * `status` is now the task's (it is shown as it is then: a copy goes to watchers). Updates
   * closer together than the rate allows are dropped unless `force` (a start, an end).
   */
  publish(status: S, force = false): void {
    this.#last = status
    if (!force && Date.now() - this.#shown < 1000 / this.#perSecond) return
    this.#shown = Date.now()
    this.#updates.emit('status', { ...status })
  }

  /** The task's status each time it changes, until it is no longer running. */
  async *watch(signal: AbortSignal): AsyncGenerator<S> {
    const current = this.#last
    if (!current) return
    // Listening before the first yield: no update falls between it and the loop.
    const updates = on(this.#updates, 'status', { signal }) as AsyncIterableIterator<[S]>
    try {
      yield { ...current }
      if (current.state !== 'running') return
      for await (const [status] of updates) {
        if (status.id !== current.id) continue
        yield status
        if (status.state !== 'running') return
      }
    } finally {
      await updates.return?.()
    }
  }
}
