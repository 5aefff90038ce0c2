import type { JobPatch, JobRecord, JobState, NewJob } from './records.ts'
import { jobFromRow } from './rows.ts'
import { ensureClient } from './sql-clients.ts'
import type { SqlDriver } from './sql-driver.ts'

/** Job records on SQL: created once per idempotency key, changed only by compare-and-set. */
export function createJob(
  driver: SqlDriver,
  job: NewJob,
): Promise<{ job: JobRecord; created: boolean }> {
  return driver.transaction(async (tx) => {
    await ensureClient(tx, job.clientId)
    if (job.idempotencyKey !== undefined) {
      const rows = await tx.all(
        'SELECT * FROM jobs WHERE client_id = $1 AND idempotency_key = $2',
        [job.clientId, job.idempotencyKey],
      )
      if (rows[0]) return { job: jobFromRow(rows[0]), created: false }
    }
    const now = Date.now()
    const rows = await tx.all(
      `INSERT INTO jobs (id, client_id, type, state, input, output, params, idempotency_key,
                         version, created, updated)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, 1, $8, $8) RETURNING *`,
      [
        job.id,
        job.clientId,
        job.type,
        job.input,
        job.output,
        JSON.stringify(job.params),
        job.idempotencyKey ?? null,
        now,
      ],
    )
    return { job: jobFromRow(rows[0]!), created: true }
  })
}

export async function getJob(
  driver: SqlDriver,
  clientId: string,
  id: string,
): Promise<JobRecord | undefined> {
  const rows = await driver.all('SELECT * FROM jobs WHERE client_id = $1 AND id = $2', [
    clientId,
    id,
  ])
  return rows[0] ? jobFromRow(rows[0]) : undefined
}

export async function listJobs(
  driver: SqlDriver,
  clientId: string,
  options: { state?: JobState; after?: string; limit: number },
): Promise<JobRecord[]> {
  const rows = await driver.all(
    `SELECT * FROM jobs WHERE client_id = $1 AND id > $2 AND ($3 = '' OR state = $3)
      ORDER BY id LIMIT $4`,
    [clientId, options.after ?? '', options.state ?? '', options.limit],
  )
  return rows.map(jobFromRow)
}

export async function updateJob(
  driver: SqlDriver,
  id: string,
  version: number,
  patch: JobPatch,
): Promise<JobRecord | undefined> {
  const rows = await driver.all(
    `UPDATE jobs SET state = COALESCE($3, state), output = COALESCE($4, output),
            result = COALESCE($5, result), error = COALESCE($6, error),
            version = version + 1, updated = $7
      WHERE id = $1 AND version = $2 RETURNING *`,
    [
      id,
      version,
      patch.state ?? null,
      patch.output ?? null,
      patch.result === undefined ? null : JSON.stringify(patch.result),
      patch.error === undefined ? null : JSON.stringify(patch.error),
      Date.now(),
    ],
  )
  return rows[0] ? jobFromRow(rows[0]) : undefined
}
