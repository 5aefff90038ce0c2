import { JOB_EVENTS_CHANNEL } from './event-signals.ts'
import type { ProgressEvent } from './meta-store.ts'
import { notifyCall } from './postgres-listener.ts'
import type {
  JobEvent,
  JobEventQuery,
  JobPatch,
  JobRecord,
  NewJob,
  RecordPage,
  UploadProgress,
} from './records.ts'
import { jobFromRow } from './rows.ts'
import { ensureClient } from './sql-clients.ts'
import type { Row, SqlDriver, SqlExecutor, SqlParam, TransactionOptions } from './sql-driver.ts'
import { readRecordPage } from './sql-record-page.ts'
import { cachedSql, IN_JSON_IDS, valuesList } from './sql-values.ts'

/**
 * Event ids must become visible in increasing order, or a reader polling `id > last` could
 * pass over one still being committed: writers of events take turns on this lock, from their
 * first event to their commit. PostgreSQL takes it in the statement that inserts the event
 * (see `insertEvent`); SQLite has one writer at a time and needs none.
 */
const JOB_EVENTS_LOCK = 'job-events'

/**
 * What a PostgreSQL statement inserting events does before its rows: it takes the events' lock
 * (parameter `lock`), and announces the commit to come to other processes' live readers (see
 * `EventSignals`: sent at commit, once per transaction).
 */
const TURN = (lock: string) =>
  `SELECT pg_advisory_xact_lock(hashtextextended(${lock}, 0)), ${notifyCall(JOB_EVENTS_CHANNEL)}`

/**
 * One round trip for any number of events: the lock, then the rows in order, whose ids are
 * drawn as they are inserted (after the lock: the sort reads its whole input, the lock's row
 * with it, before it yields the first row).
 */
function insertEventsSql(dialect: SqlDriver['dialect'], rows: number): string {
  return cachedSql(`events:${dialect}:${rows}`, () => {
    if (dialect === 'sqlite') {
      return `INSERT INTO job_events (client_id, job_id, type, data, created)
        VALUES ${valuesList(rows, 5, 2)}`
    }
    return insertEventRows('$1', rows, 2)
  })
}

/**
 * PostgreSQL's insert of events after the events' lock (parameter `lock`): `rows` events of five
 * parameters each from `$first`, in order, then the row `then` selects, if any (numbered `rows`).
 */
function insertEventRows(lock: string, rows: number, first: number, then?: string): string {
  const typed = valuesList(
    rows,
    5,
    first,
    (p, i) => `(${p(1)}::text, ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, ${p(5)}::bigint, ${i})`,
  )
  return `INSERT INTO job_events (client_id, job_id, type, data, created)
    SELECT e.client_id, e.job_id, e.type, e.data, e.created
      FROM (${TURN(lock)}) AS turn,
           (VALUES ${typed}${then ? ` UNION ALL ${then}` : ''})
           AS e (client_id, job_id, type, data, created, n)
     ORDER BY e.n`
}

/** Jobs one statement inserts at most (13 parameters each, well within both engines). */
const CREATE_ROWS = 500

/** `n` new jobs' rows (13 parameters each), but for a client's idempotency key already used. */
function insertJobsSql(n: number): string {
  const values = valuesList(
    n,
    13,
    1,
    (p) => `(${p(1)}, ${p(2)}, ${p(3)}, 'queued', ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, 1, ${p(8)},
             ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(12)}, ${p(13)})`,
  )
  return `INSERT INTO jobs (id, client_id, type, state, input, output, params, idempotency_key,
                   version, created, updated, inputs, run_id, step, item, shard)
       VALUES ${values}
       ON CONFLICT (client_id, idempotency_key) DO NOTHING RETURNING *`
}

/**
 * `stateData` of each row of `j`, built by PostgreSQL, with the events' lock (`$lock`) taken
 * in the statement that inserts them (see `insertEventsSql`): a job's change and its event in one
 * statement, one round trip where a transaction of its own took four.
 */
function stateEventOf(lock: number, created: string): string {
  return `INSERT INTO job_events (client_id, job_id, type, data, created)
    SELECT j.client_id, j.id, 'state', ${STATE_DATA}, ${created}
      FROM j, (${TURN(`$${lock}`)}) AS turn
     ORDER BY j.id`
}

/** A `state` event's data (as `stateData` makes it), built by PostgreSQL from a row of `j`. */
const STATE_DATA = `json_build_object('state', j.state, 'output', j.output,
  'result', j.result::json, 'error', j.error::json)::text`

/** The statement creating `n` jobs: with their events on PostgreSQL (the lock's parameter last). */
function createJobsSql(dialect: SqlDriver['dialect'], n: number): string {
  return cachedSql(`jobs:${dialect}:${n}`, () =>
    dialect === 'sqlite'
      ? insertJobsSql(n)
      : `WITH j AS (${insertJobsSql(n)}), e AS (${stateEventOf(n * 13 + 1, 'j.created')})
         SELECT * FROM j`,
  )
}

const JOB_BY_KEY = 'SELECT * FROM jobs WHERE client_id = $1 AND idempotency_key = $2'

/**
 * Job records on SQL: created once per idempotency key, changed only by compare-and-set. Many
 * at once (a run's fan-out) are one statement on PostgreSQL and one transaction on SQLite.
 */
export async function createJobs(
  driver: SqlDriver,
  jobs: readonly NewJob[],
): Promise<{ job: JobRecord; created: boolean }[]> {
  const out: { job: JobRecord; created: boolean }[] = []
  for (let at = 0; at < jobs.length; at += CREATE_ROWS) {
    out.push(...(await createBatch(driver, jobs.slice(at, at + CREATE_ROWS))))
  }
  return out
}

async function createBatch(
  driver: SqlDriver,
  jobs: readonly NewJob[],
): Promise<{ job: JobRecord; created: boolean }[]> {
  const params = jobs.flatMap(jobParams)
  const clients = new Set(jobs.map((job) => job.clientId))
  // A job whose key was used (a concurrent create: two workers advancing one run) inserts
  // nothing, and the job that key made is read back.
  const answer = async (sql: SqlExecutor, rows: Row[]) => {
    const made = new Map(rows.map((row) => [String(row.id), jobFromRow(row)]))
    const out = []
    for (const job of jobs) {
      const created = made.get(job.id)
      if (created) out.push({ job: created, created: true })
      else {
        const [row] = await sql.all(JOB_BY_KEY, [job.clientId, job.idempotencyKey ?? null])
        out.push({ job: jobFromRow(row!), created: false })
      }
    }
    return out
  }
  if (driver.dialect === 'postgres') {
    for (const client of clients) await ensureClient(driver, driver, client)
    const sql = createJobsSql('postgres', jobs.length)
    return answer(driver, await driver.all(sql, [...params, JOB_EVENTS_LOCK]))
  }
  return driver.transaction(async (tx) => {
    for (const client of clients) await ensureClient(driver, tx, client)
    const rows = await tx.all(createJobsSql('sqlite', jobs.length), params)
    const created = await answer(tx, rows)
    await withEvents(driver, tx, async () => {
      for (const { job, created: isNew } of created) {
        if (isNew) await insertEvent(driver, tx, job.clientId, job.id, 'state', stateData(job))
      }
    })
    return created
  })
}

function jobParams(job: NewJob): SqlParam[] {
  return [
    job.id,
    job.clientId,
    job.type,
    job.input,
    job.output,
    JSON.stringify(job.params),
    job.idempotencyKey ?? null,
    Date.now(),
    job.inputs ? JSON.stringify(job.inputs) : null,
    job.run?.id ?? null,
    job.run?.step ?? null,
    job.run?.item ?? null,
    job.run?.shard ?? null,
  ]
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

export async function jobById(driver: SqlDriver, id: string): Promise<JobRecord | undefined> {
  const rows = await driver.all('SELECT * FROM jobs WHERE id = $1', [id])
  return rows[0] ? jobFromRow(rows[0]) : undefined
}

export async function jobsById(driver: SqlDriver, ids: readonly string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return []
  const sql = `SELECT * FROM jobs WHERE id ${IN_JSON_IDS[driver.dialect]}`
  const rows = await driver.all(sql, [JSON.stringify(ids)])
  return rows.map(jobFromRow)
}

export async function listJobs(
  driver: SqlDriver,
  clientId: string,
  page: RecordPage,
): Promise<JobRecord[]> {
  return (await readRecordPage(driver, 'jobs', clientId, page)).map(jobFromRow)
}

/** The compare-and-set of a job: `$1` its id, `$2` its version, then the patch's columns. */
const UPDATE_JOB = `UPDATE jobs SET state = COALESCE($3, state), output = COALESCE($4, output),
            result = COALESCE($5, result), error = COALESCE($6, error),
            upload_id = COALESCE($7, upload_id), version = version + 1, updated = $8
      WHERE id = $1 AND version = $2 RETURNING *`

const UPDATE_JOB_WITH_EVENT = `WITH j AS (${UPDATE_JOB}), e AS (${stateEventOf(9, '$8')})
  SELECT * FROM j`

export async function updateJob(
  driver: SqlDriver,
  id: string,
  version: number,
  patch: JobPatch,
): Promise<JobRecord | undefined> {
  if (driver.dialect === 'postgres' && patch.beginUpload === undefined) {
    const params = updateParams(id, version, patch)
    // A patch that changes no state records no event: the plain update.
    if (patch.state === undefined) return firstJob(await driver.all(UPDATE_JOB, params))
    return firstJob(await driver.all(UPDATE_JOB_WITH_EVENT, [...params, JOB_EVENTS_LOCK]))
  }
  return driver.transaction((tx) => updateJobIn(driver, tx, id, version, patch))
}

function updateParams(id: string, version: number, patch: JobPatch): SqlParam[] {
  return [
    id,
    version,
    patch.state ?? null,
    patch.output ?? null,
    patch.result === undefined ? null : JSON.stringify(patch.result),
    patch.error === undefined ? null : JSON.stringify(patch.error),
    patch.uploadId ?? null,
    Date.now(),
  ]
}

function firstJob(rows: Row[]): JobRecord | undefined {
  return rows[0] ? jobFromRow(rows[0]) : undefined
}

/** The compare-and-set inside a transaction; a state change also records its event. */
export async function updateJobIn(
  driver: SqlDriver,
  tx: SqlExecutor,
  id: string,
  version: number,
  patch: JobPatch,
): Promise<JobRecord | undefined> {
  const waiting = held.get(tx)
  if (driver.dialect === 'postgres' && waiting && patch.state !== undefined && !patch.beginUpload) {
    // The events held so far go in with the state's, in the update's statement (see
    // `updateWithEventsSql`); events recorded after it are held for the end as before.
    const rows = waiting.splice(0)
    const sql = rows.length === 0 ? UPDATE_JOB_WITH_EVENT : updateWithEventsSql(rows.length)
    const params = [...updateParams(id, version, patch), JOB_EVENTS_LOCK, ...rows.flat()]
    return firstJob(await tx.all(sql, params))
  }
  const rows = await tx.all(UPDATE_JOB, updateParams(id, version, patch))
  if (!rows[0]) return undefined
  const job = jobFromRow(rows[0])
  if (patch.beginUpload !== undefined) {
    if (!patch.uploadId) throw new Error('beginUpload needs the uploadId to begin')
    await tx.run('INSERT INTO uploads (id, client_id, name, touched) VALUES ($1, $2, $3, $4)', [
      patch.uploadId,
      job.clientId,
      patch.beginUpload,
      Date.now(),
    ])
  }
  if (patch.state !== undefined) {
    await insertEvent(driver, tx, job.clientId, job.id, 'state', stateData(job))
  }
  return job
}

/**
 * On PostgreSQL, a job's compare-and-set with the events its transaction holds (`held` rows, from
 * `$10`) and then its state's event, in one statement: a job's commit paid one round trip for
 * the update and another for its events. The held rows go in whether the update matches or not,
 * as they would at the transaction's end; the state's only with the updated row.
 */
function updateWithEventsSql(held: number): string {
  return cachedSql(`update-events:${held}`, () => {
    const state = `SELECT j.client_id, j.id, 'state', ${STATE_DATA}, $8::bigint, ${held} FROM j`
    return `WITH j AS (${UPDATE_JOB}), e AS (${insertEventRows('$9', held, 10, state)})
      SELECT * FROM j`
  })
}

export async function addJobEvent(
  driver: SqlDriver,
  event: Pick<JobEvent, 'clientId' | 'jobId' | 'type' | 'data'>,
  options?: TransactionOptions,
): Promise<void> {
  await driver.transaction(
    (tx) => insertEvent(driver, tx, event.clientId, event.jobId, event.type, event.data),
    options,
  )
}

/** See `MetaStore.addProgressEvent`. */
export function addProgressEvent(driver: SqlDriver, event: ProgressEvent): Promise<UploadProgress> {
  return driver.transaction(async (tx) => {
    // Parts finishing at once take turns, so that each counts those before it and the last one
    // sees the set complete; the events' own turn comes only with the insert.
    await driver.lockInTransaction(tx, `upload-progress:${event.uploadId}`)
    await tx.run('UPDATE upload_chunks SET pending = 0 WHERE upload_id = $1 AND seq = $2', [
      event.uploadId,
      event.seq,
    ])
    const progress = await uploadProgressIn(tx, event.uploadId)
    await insertEvent(driver, tx, event.clientId, event.jobId, 'progress', {
      chunksDone: progress.chunks,
      chunksTotal: event.chunksTotal,
      bytesIn: progress.sourceBytes,
      bytesOut: progress.bytes,
    })
    return progress
  })
}

/**
 * Chunks stored so far for an upload (not those still pending: a job's part whose bytes are being
 * written), their bytes, and the input bytes they came from.
 */
export async function uploadProgressIn(
  executor: SqlExecutor,
  uploadId: string,
): Promise<UploadProgress> {
  const rows = await executor.all(
    `SELECT COUNT(*) AS chunks, COALESCE(SUM(c.size), 0) AS bytes,
            COALESCE(SUM(u.source_size), 0) AS source_bytes
       FROM upload_chunks u JOIN chunks c ON c.key = u.chunk_key
      WHERE u.upload_id = $1 AND u.pending = 0`,
    [uploadId],
  )
  return {
    chunks: Number(rows[0]?.chunks ?? 0),
    bytes: Number(rows[0]?.bytes ?? 0),
    sourceBytes: Number(rows[0]?.source_bytes ?? 0),
  }
}

/**
 * One statement per shape of query, each walking the index that serves it: a job's events by
 * (job_id, id), a client's by (client_id, id), all by id. One statement with every filter
 * optional (`$2 = '' OR client_id = $2`) was planned as a walk of every event after `after`:
 * a live status opened with no `Last-Event-ID` read the whole history to find its job's few.
 */
const EVENTS_AFTER = {
  job: `SELECT * FROM job_events WHERE job_id = $2 AND id > $1 AND ($3 = '' OR client_id = $3)
         ORDER BY id LIMIT $4`,
  client: 'SELECT * FROM job_events WHERE client_id = $2 AND id > $1 ORDER BY id LIMIT $3',
  all: 'SELECT * FROM job_events WHERE id > $1 ORDER BY id LIMIT $2',
}

export async function jobEvents(driver: SqlDriver, query: JobEventQuery): Promise<JobEvent[]> {
  const { after, clientId, jobId, limit } = query
  const rows = jobId
    ? await driver.all(EVENTS_AFTER.job, [after, jobId, clientId ?? '', limit])
    : clientId
      ? await driver.all(EVENTS_AFTER.client, [after, clientId, limit])
      : await driver.all(EVENTS_AFTER.all, [after, limit])
  return rows.map((row) => ({
    id: Number(row.id),
    clientId: String(row.client_id),
    jobId: String(row.job_id),
    type: String(row.type) as JobEvent['type'],
    data: JSON.parse(String(row.data)),
    created: Number(row.created),
  }))
}

/** See `MetaStore.retryJob`. */
export function retryJob(
  driver: SqlDriver,
  id: string,
  version: number,
): Promise<JobRecord | undefined> {
  return driver.transaction(async (tx) => {
    const rows = await tx.all(
      `UPDATE jobs SET state = 'queued', error = NULL, result = NULL, upload_id = NULL,
              published = 0, attempt = attempt + 1, version = version + 1, updated = $3
        WHERE id = $1 AND version = $2 AND state = 'failed' RETURNING *`,
      [id, version, Date.now()],
    )
    if (!rows[0]) return undefined
    const job = jobFromRow(rows[0])
    // An ended job changed: the run's engines read its jobs afresh (`RunRecord.retries`), and an
    // advance that read the run before this fails its compare-and-set and looks again. The run's
    // row before the events' lock, the order a run's own update takes them in.
    if (job.runId) {
      await tx.run('UPDATE runs SET retries = retries + 1, version = version + 1 WHERE id = $1', [
        job.runId,
      ])
    }
    await insertEvent(driver, tx, job.clientId, job.id, 'state', stateData(job))
    return job
  })
}

/** Jobs created before `before` whose first task may not be on the queue yet. */
export async function unpublishedJobs(
  driver: SqlDriver,
  before: number,
  limit: number,
): Promise<JobRecord[]> {
  const rows = await driver.all(
    'SELECT * FROM jobs WHERE published = 0 AND created < $1 ORDER BY created LIMIT $2',
    [before, limit],
  )
  return rows.map(jobFromRow)
}

export async function markJobsPublished(driver: SqlDriver, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return
  const sql = `UPDATE jobs SET published = 1 WHERE id ${IN_JSON_IDS[driver.dialect]}`
  await runOutboxMark(driver, sql, [JSON.stringify(ids)])
}

/**
 * An outbox mark needs no sync of its own: lost in a power cut, it leaves its row to the
 * outbox sweep, which publishes it again (the queue drops the repeated key); the next durable
 * commit syncs it anyway. On SQLite it commits without a sync; on PostgreSQL it is one
 * statement — one round trip, where a transaction without a sync took three.
 */
export async function runOutboxMark(
  driver: SqlDriver,
  sql: string,
  params: readonly SqlParam[],
): Promise<void> {
  if (driver.dialect === 'postgres') await driver.run(sql, params)
  else await driver.transaction((tx) => tx.run(sql, params), { durable: false })
}

/** What a state event carries: the parts of the job that change. */
function stateData(job: JobRecord): Record<string, unknown> {
  return { state: job.state, output: job.output, result: job.result, error: job.error }
}

type EventRow = [clientId: string, jobId: string, type: JobEvent['type'], data: string, at: number]

/** Events held for the end of their transaction (see `withEvents`). */
const held = new WeakMap<SqlExecutor, EventRow[]>()

/**
 * Runs `fn` in `tx` with the events it records held, then inserts them in one statement (a
 * transaction that records a file's event, a progress and a job's state pays one round trip,
 * not three). Events take the events' lock last, as they would have one by one.
 */
export async function withEvents<T>(
  driver: SqlDriver,
  tx: SqlExecutor,
  fn: () => Promise<T>,
): Promise<T> {
  if (held.has(tx)) return fn()
  const rows: EventRow[] = []
  held.set(tx, rows)
  try {
    const value = await fn()
    await insertRows(driver, tx, rows)
    return value
  } finally {
    held.delete(tx)
  }
}

export async function insertEvent(
  driver: SqlDriver,
  tx: SqlExecutor,
  clientId: string,
  jobId: string,
  type: JobEvent['type'],
  data: Record<string, unknown>,
): Promise<void> {
  const row: EventRow = [clientId, jobId, type, JSON.stringify(data), Date.now()]
  const rows = held.get(tx)
  if (rows) rows.push(row)
  else await insertRows(driver, tx, [row])
}

async function insertRows(driver: SqlDriver, tx: SqlExecutor, rows: EventRow[]): Promise<void> {
  if (rows.length === 0) return
  await tx.run(insertEventsSql(driver.dialect, rows.length), [JOB_EVENTS_LOCK, ...rows.flat()])
}
