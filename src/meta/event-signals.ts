/**
 * Word that job events were committed, by any process sharing the metadata database, so live
 * status reads them at once rather than at its next poll. A signal carries no events: readers
 * read those from the store, in id order, so signals may be merged or spurious. One also comes
 * each time the connection signals travel on is made (again): what was sent while it was down
 * is lost.
 */
export interface EventSignals {
  /**
   * Starts listening: `onSignal` runs after commits of job events by any process, until the
   * listener is closed. `undefined` where no other process can write (SQLite: this process's own
   * writes are all there is, and it says so itself).
   */
  listenForEvents(onSignal: () => void): Listener | undefined
}

export interface Listener {
  /** Stops listening and lets its connection go; idempotent. */
  close(): Promise<void>
}

/** The channel job-event commits are announced on (PostgreSQL `NOTIFY`). */
export const JOB_EVENTS_CHANNEL = 'piper_job_events'
