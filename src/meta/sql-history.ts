import type { PrunedHistory } from './history-store.ts'
import type { SqlDriver } from './sql-driver.ts'
import { ENDED_STATES, IN_JSON_IDS } from './sql-values.ts'

// History retention on SQL (`HistoryStore`), for SQLite and PostgreSQL alike.

/**
 * The smallest id of `prefix` made at `time`: job and run ids sort by creation time (`job_` or
 * `run_`, the time in base 36, then random digits; `jobs/job-id.ts`), and a row that ended
 * before `before` was made before it, so the scan walks the primary key over old rows only
 * rather than the whole table at every pass. Ids of another form (tests' UUIDs) sort below it
 * and are still looked at.
 */
function idBound(prefix: 'job_' | 'run_', time: number): string {
  return `${prefix}${Math.max(0, Math.floor(time)).toString(36).padStart(9, '0')}`
}

export async function pruneHistory(
  driver: SqlDriver,
  before: number,
  limit: number,
): Promise<PrunedHistory> {
  const inIds = IN_JSON_IDS[driver.dialect]
  return driver.transaction(async (tx) => {
    const runs = await tx.all(
      `SELECT id FROM runs WHERE id < $1 AND state IN ${ENDED_STATES} AND updated < $2
        ORDER BY id LIMIT $3`,
      [idBound('run_', before), before, limit],
    )
    const runIds = JSON.stringify(runs.map((r) => String(r.id)))
    let events = 0
    let runsDeleted = 0
    // Counted as deleted, not as found: two processes' passes at start may find the same rows.
    if (runs.length > 0) {
      events += await tx.run(`DELETE FROM job_events WHERE job_id ${inIds}`, [runIds])
      runsDeleted = await tx.run(`DELETE FROM runs WHERE id ${inIds}`, [runIds])
    }
    // A run's jobs only once the run is gone (above, or in an earlier pass): a run still
    // recorded may read its jobs again (its status, a retry).
    const jobs = await tx.all(
      `SELECT j.id FROM jobs j
        WHERE j.id < $1 AND j.state IN ${ENDED_STATES} AND j.updated < $2
          AND (j.run_id IS NULL OR NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = j.run_id))
        ORDER BY j.id LIMIT $3`,
      [idBound('job_', before), before, limit],
    )
    const jobIds = JSON.stringify(jobs.map((r) => String(r.id)))
    let jobsDeleted = 0
    if (jobs.length > 0) {
      events += await tx.run(`DELETE FROM job_events WHERE job_id ${inIds}`, [jobIds])
      jobsDeleted = await tx.run(`DELETE FROM jobs WHERE id ${inIds}`, [jobIds])
    }
    // By the (state, created) index of open ticks.
    const ticks = await tx.run(
      `DELETE FROM schedule_ticks WHERE (client_id, name, tick) IN (
         SELECT client_id, name, tick FROM schedule_ticks
          WHERE state IN ('started', 'skipped', 'failed') AND created < $1 LIMIT $2)`,
      [before, limit],
    )
    // Attempts are numbered as they are made: the old ones are the lowest ids, and looking at
    // the oldest `limit` only, a pass with nothing to delete reads no more than that.
    const deliveries = await tx.run(
      `DELETE FROM webhook_deliveries WHERE created < $1 AND id IN (
         SELECT id FROM webhook_deliveries ORDER BY id LIMIT $2)`,
      [before, limit],
    )
    return { runs: runsDeleted, jobs: jobsDeleted, events, ticks, deliveries }
  })
}
