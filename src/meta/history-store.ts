/** What one call of `pruneHistory` deleted. */
export interface PrunedHistory {
  runs: number
  jobs: number
  /** Events of the runs and jobs deleted (`job_events`). */
  events: number
  /** Schedule ticks handled (a run started, skipped or failed). */
  ticks: number
  /** Webhook delivery attempts. */
  deliveries: number
}

/**
 * The history retention port: what is only history — ended runs and jobs with their events,
 * handled schedule ticks, webhook delivery attempts — deleted once older than a moment, a
 * batch at a time, so the metadata does not grow for ever. Split from `MetaStore`; the SQL
 * adapters keep it in the same database.
 */
export interface HistoryStore {
  /**
   * Deletes up to `limit` of each kind of row that ended before `before` (ms since the epoch):
   * runs that succeeded, failed or were cancelled, with their events; ended jobs that belong to
   * no run, or whose run is gone, with theirs (a run's jobs go after it, never while the run
   * may still read them); ticks and delivery attempts made before it. Call again while a kind
   * returns `limit`.
   */
  pruneHistory(before: number, limit: number): Promise<PrunedHistory>
}
