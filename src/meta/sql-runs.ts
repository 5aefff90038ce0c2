import type { JobRecord, JobState, RecordPage } from './records.ts'
import { jobFromRow } from './rows.ts'
import type {
  NewRun,
  PipelineRecord,
  RunJob,
  RunPatch,
  RunRecord,
  RunState,
} from './run-records.ts'
import { ensureClient } from './sql-clients.ts'
import type { Row, SqlDriver } from './sql-driver.ts'
import { insertEvent, runOutboxMark, withEvents } from './sql-jobs.ts'
import { readRecordPage } from './sql-record-page.ts'
import { cachedSql, ENDED_STATES, valuesList } from './sql-values.ts'

// Pipelines and runs on SQL (`RunStore`), shared by the SQLite and PostgreSQL adapters.

function pipelineFromRow(row: Row): PipelineRecord {
  return {
    clientId: String(row.client_id),
    name: String(row.name),
    version: Number(row.version),
    definition: JSON.parse(String(row.definition)),
    created: Number(row.created),
  }
}

function runFromRow(row: Row): RunRecord {
  return {
    id: String(row.id),
    clientId: String(row.client_id),
    pipeline: String(row.pipeline),
    pipelineVersion: Number(row.pipeline_version),
    definition: JSON.parse(String(row.definition)),
    inputs: JSON.parse(String(row.inputs)),
    state: String(row.state) as RunState,
    steps: JSON.parse(String(row.steps)),
    result: row.result == null ? null : JSON.parse(String(row.result)),
    error: row.error == null ? null : JSON.parse(String(row.error)),
    idempotencyKey: row.idempotency_key == null ? null : String(row.idempotency_key),
    published: Number(row.published) === 1,
    retries: Number(row.retries ?? 0),
    version: Number(row.version),
    created: Number(row.created),
    updated: Number(row.updated),
  }
}

/** The columns `runJobFromRow` reads: not a job's params, inputs or bookkeeping. */
const RUN_JOB_COLUMNS = 'id, step, item, state, output, result, error'

function runJobFromRow(row: Row): RunJob {
  const result = row.result == null ? null : JSON.parse(String(row.result))
  return {
    id: String(row.id),
    step: row.step == null ? null : String(row.step),
    item: row.item == null ? null : Number(row.item),
    state: String(row.state) as JobState,
    output: String(row.output),
    result:
      result === null
        ? null
        : {
            ...(result.outputs !== undefined ? { outputs: result.outputs } : {}),
            ...(result.counts !== undefined ? { counts: result.counts } : {}),
          },
    error: row.error == null ? null : JSON.parse(String(row.error)),
  }
}

export function savePipeline(
  driver: SqlDriver,
  clientId: string,
  name: string,
  definition: object,
): Promise<PipelineRecord> {
  return driver.transaction(async (tx) => {
    await ensureClient(driver, tx, clientId)
    // Two saves of one name at once take turns, so each gets the next version.
    await driver.lockInTransaction(tx, `pipeline:${clientId}:${name}`)
    const [top] = await tx.all(
      'SELECT MAX(version) AS v FROM pipelines WHERE client_id = $1 AND name = $2',
      [clientId, name],
    )
    const rows = await tx.all(
      `INSERT INTO pipelines (client_id, name, version, definition, created)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [clientId, name, Number(top?.v ?? 0) + 1, JSON.stringify(definition), Date.now()],
    )
    return pipelineFromRow(rows[0]!)
  })
}

export async function pipeline(
  driver: SqlDriver,
  clientId: string,
  name: string,
  version?: number,
): Promise<PipelineRecord | undefined> {
  const rows = await driver.all(
    `SELECT * FROM pipelines WHERE client_id = $1 AND name = $2 AND deleted = 0
        AND ($3 = 0 OR version = $3) ORDER BY version DESC LIMIT 1`,
    [clientId, name, version ?? 0],
  )
  return rows[0] ? pipelineFromRow(rows[0]) : undefined
}

export async function listPipelines(
  driver: SqlDriver,
  clientId: string,
  options: { after?: string; limit: number },
): Promise<PipelineRecord[]> {
  const rows = await driver.all(
    `SELECT p.* FROM pipelines p
      WHERE p.client_id = $1 AND p.name > $2 AND p.deleted = 0
        AND p.version = (SELECT MAX(q.version) FROM pipelines q
                          WHERE q.client_id = p.client_id AND q.name = p.name)
      ORDER BY p.name LIMIT $3`,
    [clientId, options.after ?? '', options.limit],
  )
  return rows.map(pipelineFromRow)
}

export async function deletePipeline(
  driver: SqlDriver,
  clientId: string,
  name: string,
): Promise<boolean> {
  const changed = await driver.run(
    'UPDATE pipelines SET deleted = 1 WHERE client_id = $1 AND name = $2 AND deleted = 0',
    [clientId, name],
  )
  return changed > 0
}

export function createRun(
  driver: SqlDriver,
  run: NewRun,
): Promise<{ run: RunRecord; created: boolean }> {
  return driver.transaction(async (tx) => {
    await ensureClient(driver, tx, run.clientId)
    const now = Date.now()
    const rows = await tx.all(
      `INSERT INTO runs (id, client_id, pipeline, pipeline_version, definition, inputs, state,
                         steps, idempotency_key, version, created, updated)
       VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, 1, $9, $9)
       ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING *`,
      [
        run.id,
        run.clientId,
        run.pipeline,
        run.pipelineVersion,
        JSON.stringify(run.definition),
        JSON.stringify(run.inputs),
        JSON.stringify(run.steps),
        run.idempotencyKey ?? null,
        now,
      ],
    )
    if (!rows[0]) {
      const [existing] = await tx.all(
        'SELECT * FROM runs WHERE client_id = $1 AND idempotency_key = $2',
        [run.clientId, run.idempotencyKey ?? null],
      )
      return { run: runFromRow(existing!), created: false }
    }
    const created = runFromRow(rows[0])
    await insertEvent(driver, tx, created.clientId, created.id, 'state', runStateData(created))
    return { run: created, created: true }
  })
}

export async function getRun(
  driver: SqlDriver,
  clientId: string,
  id: string,
): Promise<RunRecord | undefined> {
  const rows = await driver.all('SELECT * FROM runs WHERE client_id = $1 AND id = $2', [
    clientId,
    id,
  ])
  return rows[0] ? runFromRow(rows[0]) : undefined
}

export async function runById(driver: SqlDriver, id: string): Promise<RunRecord | undefined> {
  const rows = await driver.all('SELECT * FROM runs WHERE id = $1', [id])
  return rows[0] ? runFromRow(rows[0]) : undefined
}

export async function listRuns(
  driver: SqlDriver,
  clientId: string,
  page: RecordPage,
): Promise<RunRecord[]> {
  return (await readRecordPage(driver, 'runs', clientId, page)).map(runFromRow)
}

export function updateRun(
  driver: SqlDriver,
  id: string,
  version: number,
  patch: RunPatch,
  stepEvents: Record<string, unknown>[] = [],
): Promise<RunRecord | undefined> {
  return driver.transaction(async (tx) => {
    const rows = await tx.all(
      `UPDATE runs SET state = COALESCE($3, state), steps = COALESCE($4, steps),
              result = COALESCE($5, result), error = COALESCE($6, error),
              version = version + 1, updated = $7
        WHERE id = $1 AND version = $2 RETURNING *`,
      [
        id,
        version,
        patch.state ?? null,
        patch.steps === undefined ? null : JSON.stringify(patch.steps),
        patch.result === undefined ? null : JSON.stringify(patch.result),
        patch.error === undefined ? null : JSON.stringify(patch.error),
        Date.now(),
      ],
    )
    if (!rows[0]) return undefined
    const run = runFromRow(rows[0])
    // The step events and the state in one statement.
    await withEvents(driver, tx, async () => {
      for (const data of stepEvents)
        await insertEvent(driver, tx, run.clientId, run.id, 'step', data)
      if (patch.state !== undefined) {
        await insertEvent(driver, tx, run.clientId, run.id, 'state', runStateData(run))
      }
    })
    return run
  })
}

export async function runJobs(driver: SqlDriver, runId: string): Promise<JobRecord[]> {
  const rows = await driver.all('SELECT * FROM jobs WHERE run_id = $1 ORDER BY step, item', [runId])
  return rows.map(jobFromRow)
}

/** See `RunStore.stepJobs`. */
export async function stepJobs(
  driver: SqlDriver,
  runId: string,
  step: string,
  fromItem: number,
): Promise<RunJob[]> {
  const rows = await driver.all(
    `SELECT ${RUN_JOB_COLUMNS} FROM jobs WHERE run_id = $1 AND step = $2 AND item >= $3
      ORDER BY item`,
    [runId, step, fromItem],
  )
  return rows.map(runJobFromRow)
}

/** See `RunStore.endedJobs`. */
export async function endedJobs(driver: SqlDriver, ids: readonly string[]): Promise<RunJob[]> {
  const out: RunJob[] = []
  for (let at = 0; at < ids.length; at += IDS_AT_ONCE) {
    const batch = ids.slice(at, at + IDS_AT_ONCE)
    const sql = cachedSql(
      `ended-jobs:${batch.length}`,
      () =>
        `SELECT ${RUN_JOB_COLUMNS} FROM jobs WHERE id IN (${valuesList(batch.length, 1, 1, (p) => p(1))})
          AND state IN ${ENDED_STATES}`,
    )
    for (const row of await driver.all(sql, batch)) out.push(runJobFromRow(row))
  }
  return out
}

/** Ids per `endedJobs` statement: its parameters stay far below either database's limit. */
const IDS_AT_ONCE = 500

export async function unpublishedRuns(
  driver: SqlDriver,
  before: number,
  limit: number,
): Promise<RunRecord[]> {
  const rows = await driver.all(
    'SELECT * FROM runs WHERE published = 0 AND created < $1 ORDER BY created LIMIT $2',
    [before, limit],
  )
  return rows.map(runFromRow)
}

/** An outbox mark (`runOutboxMark`): lost, the sweep publishes the run's advance again. */
export async function markRunPublished(driver: SqlDriver, id: string): Promise<void> {
  await runOutboxMark(driver, 'UPDATE runs SET published = 1 WHERE id = $1', [id])
}

export async function idleRuns(
  driver: SqlDriver,
  before: number,
  limit: number,
): Promise<RunRecord[]> {
  const rows = await driver.all(
    `SELECT * FROM runs WHERE state IN ('queued', 'running') AND updated < $1
      ORDER BY updated LIMIT $2`,
    [before, limit],
  )
  return rows.map(runFromRow)
}

/** What a run's state event carries. */
function runStateData(run: RunRecord): Record<string, unknown> {
  return { run: true, state: run.state, result: run.result, error: run.error }
}
