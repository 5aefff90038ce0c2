import { randomUUID } from 'node:crypto'
import type { ClientUsage, ClientUsageReader } from './client-usage.ts'
import { MetaError } from './errors.ts'
import { type EventSignals, JOB_EVENTS_CHANNEL, type Listener } from './event-signals.ts'
import type { HistoryStore, PrunedHistory } from './history-store.ts'
import type { ImageEntry, ImageOutputsEntry, ImageStore } from './image-store.ts'
import { LeaseLock } from './lease-lock.ts'
import type { MetaCalls } from './meta-calls.ts'
import type { MetaDumps } from './meta-dumps.ts'
import type {
  AddChunkOptions,
  ChunkLease,
  HeldChunkLock,
  MetaStore,
  OneChunkOutput,
  ProgressEvent,
} from './meta-store.ts'
import { migrate } from './migrations.ts'
import type { NodeRegistry, StorageNodeState } from './node-registry.ts'
import type { BucketAnswer, RateBuckets } from './rate-buckets.ts'
import type {
  ChunkInfo,
  FileRecord,
  JobEvent,
  JobEventQuery,
  JobPatch,
  JobRecord,
  ListOptions,
  ManifestEntry,
  NewJob,
  RecordPage,
  UploadProgress,
  UploadSummary,
} from './records.ts'
import { encodeFrequencies, fileFromRow, manifestEntryFromRow, prefixEnd } from './rows.ts'
import type { NewRun, PipelineRecord, RunJob, RunPatch, RunRecord } from './run-records.ts'
import type { RunStore } from './run-store.ts'
import type {
  ScheduleRecord,
  ScheduleStore,
  ScheduleTicks,
  TickRecord,
  TickState,
} from './schedule-store.ts'
import { releaseChunks as release } from './sql-chunk-refs.ts'
import { ensureClient } from './sql-clients.ts'
import type { SqlDriver, SqlExecutor, SqlParam } from './sql-driver.ts'
import { type DumpLine, dumpTables, heldTable, loadTables } from './sql-dump.ts'
import { readEventCursor, writeEventCursor } from './sql-event-cursors.ts'
import { pruneHistory } from './sql-history.ts'
import * as images from './sql-images.ts'
import {
  addJobEvent,
  addProgressEvent,
  createJobs,
  getJob,
  insertEvent,
  jobById,
  jobEvents,
  jobsById,
  listJobs,
  markJobsPublished,
  retryJob,
  unpublishedJobs,
  updateJob,
  updateJobIn,
  uploadProgressIn,
  withEvents,
} from './sql-jobs.ts'
import * as leases from './sql-leader-leases.ts'
import * as registry from './sql-node-registry.ts'
import * as rateBuckets from './sql-rate-buckets.ts'
import * as runs from './sql-runs.ts'
import * as schedules from './sql-schedules.ts'
import * as tus from './sql-tus-uploads.ts'
import * as usage from './sql-usage.ts'
import { valuesList } from './sql-values.ts'
import * as webhooks from './sql-webhooks.ts'
import type { TusProgress, TusUploadRecord, TusUploadStore } from './tus-upload-store.ts'
import type { CounterAdd, Granularity, SketchAdd, UsageQuery, UsageStore } from './usage-store.ts'
import type { DeliveryRecord, WebhookPatch, WebhookRecord, WebhookStore } from './webhook-store.ts'

/** The `MetaStore` on SQL, shared by the SQLite and PostgreSQL adapters. */
export class SqlMetaStore
  implements
    MetaStore,
    MetaCalls,
    RunStore,
    ImageStore,
    NodeRegistry,
    ClientUsageReader,
    MetaDumps,
    ScheduleStore,
    ScheduleTicks,
    RateBuckets,
    TusUploadStore,
    WebhookStore,
    UsageStore,
    HistoryStore,
    EventSignals
{
  readonly name: string
  readonly #driver: SqlDriver
  /** Chunk locks across processes (PostgreSQL): leases that hold no connection. */
  readonly #leases: LeaseLock | undefined
  #closed: Promise<void> | undefined

  constructor(driver: SqlDriver) {
    this.#driver = driver
    this.name = driver.dialect
    this.#leases = driver.dialect === 'postgres' ? new LeaseLock(driver) : undefined
  }

  async start(): Promise<void> {
    await this.#driver.open()
    try {
      await migrate(this.#driver)
    } catch (error) {
      await this.#driver.close()
      throw error
    }
  }

  listenForEvents(onSignal: () => void): Listener | undefined {
    return this.#driver.listen?.(JOB_EVENTS_CHANNEL, onSignal)
  }

  close(): Promise<void> {
    this.#closed ??= this.#driver.close()
    return this.#closed
  }

  takeToken(
    key: string,
    limit: { perMinute: number; burst: number },
    now: number,
  ): Promise<BucketAnswer> {
    return rateBuckets.takeToken(this.#driver, key, limit, now)
  }

  // Usage statistics (`UsageStore`), in sql-usage.ts.

  addUsage(counters: CounterAdd[], sketches: SketchAdd[], cursorName: string, cursor: number) {
    return usage.addUsage(this.#driver, counters, sketches, cursorName, cursor)
  }

  usageCounters(query: UsageQuery) {
    return usage.usageCounters(this.#driver, query)
  }

  usageSketches(query: UsageQuery) {
    return usage.usageSketches(this.#driver, query)
  }

  usageTotals(clientId: string | undefined, metrics: readonly string[]) {
    return usage.usageTotals(this.#driver, clientId, metrics)
  }

  resetUsage(cursorName: string, cursor: number): Promise<void> {
    return usage.resetUsage(this.#driver, cursorName, cursor)
  }

  pruneUsage(granularity: Granularity, before: number): Promise<number> {
    return usage.pruneUsage(this.#driver, granularity, before)
  }

  // History retention (`HistoryStore`), in sql-history.ts.

  pruneHistory(before: number, limit: number): Promise<PrunedHistory> {
    return pruneHistory(this.#driver, before, limit)
  }

  // Webhooks (`WebhookStore`), in sql-webhooks.ts.

  createWebhook(record: WebhookRecord): Promise<void> {
    return webhooks.createWebhook(this.#driver, record)
  }

  getWebhook(clientId: string, id: string): Promise<WebhookRecord | undefined> {
    return webhooks.getWebhook(this.#driver, clientId, id)
  }

  listWebhooks(clientId: string | undefined): Promise<WebhookRecord[]> {
    return webhooks.listWebhooks(this.#driver, clientId)
  }

  updateWebhook(id: string, patch: WebhookPatch, now: number): Promise<WebhookRecord | undefined> {
    return webhooks.updateWebhook(this.#driver, id, patch, now)
  }

  deleteWebhook(clientId: string, id: string): Promise<boolean> {
    return webhooks.deleteWebhook(this.#driver, clientId, id)
  }

  addDelivery(delivery: Omit<DeliveryRecord, 'id'>): Promise<void> {
    return webhooks.addDelivery(this.#driver, delivery)
  }

  listDeliveries(webhookId: string, options: { before?: number; limit: number }) {
    return webhooks.listDeliveries(this.#driver, webhookId, options)
  }

  eventCursor(name: string): Promise<number | undefined> {
    return readEventCursor(this.#driver, name)
  }

  setEventCursor(name: string, position: number): Promise<void> {
    return writeEventCursor(this.#driver, name, position)
  }

  // Resumable uploads (`TusUploadStore`), in sql-tus-uploads.ts.

  createTusUpload(record: TusUploadRecord): Promise<void> {
    return tus.createTusUpload(this.#driver, record)
  }

  getTusUpload(clientId: string, id: string): Promise<TusUploadRecord | undefined> {
    return tus.getTusUpload(this.#driver, clientId, id)
  }

  advanceTusUpload(id: string, from: TusProgress, to: TusProgress): Promise<boolean> {
    return tus.advanceTusUpload(this.#driver, id, from, to)
  }

  completeTusUpload(id: string, fileId: string): Promise<void> {
    return tus.completeTusUpload(this.#driver, id, fileId)
  }

  deleteTusUpload(id: string): Promise<boolean> {
    return tus.deleteTusUpload(this.#driver, id)
  }

  expiredTusUploads(now: number, limit: number): Promise<TusUploadRecord[]> {
    return tus.expiredTusUploads(this.#driver, now, limit)
  }

  truncateUpload(uploadId: string, fromSeq: number): Promise<string[]> {
    return tus.truncateUpload(this.#driver, uploadId, fromSeq)
  }

  appendUploadChunks(uploadId: string, fromUploadId: string, atSeq: number): Promise<number> {
    return tus.appendUploadChunks(this.#driver, uploadId, fromUploadId, atSeq)
  }

  // Schedules (`ScheduleStore`, `ScheduleTicks`), in sql-schedules.ts.

  putSchedule(
    r: Omit<ScheduleRecord, 'created' | 'updated'>,
    now: number,
  ): Promise<ScheduleRecord> {
    return schedules.putSchedule(this.#driver, r, now)
  }

  getSchedule(clientId: string, name: string): Promise<ScheduleRecord | undefined> {
    return schedules.getSchedule(this.#driver, clientId, name)
  }

  listSchedules(clientId: string): Promise<ScheduleRecord[]> {
    return schedules.listSchedules(this.#driver, clientId)
  }

  pauseSchedule(
    clientId: string,
    name: string,
    paused: boolean,
    nextTick: number,
    now: number,
  ): Promise<boolean> {
    return schedules.pauseSchedule(this.#driver, clientId, name, paused, nextTick, now)
  }

  deleteSchedule(clientId: string, name: string): Promise<boolean> {
    return schedules.deleteSchedule(this.#driver, clientId, name)
  }

  dueSchedules(now: number, limit: number): Promise<ScheduleRecord[]> {
    return schedules.dueSchedules(this.#driver, now, limit)
  }

  advanceSchedule(clientId: string, name: string, from: number, to: number): Promise<boolean> {
    return schedules.advanceSchedule(this.#driver, clientId, name, from, to)
  }

  claimTick(clientId: string, name: string, tick: number, now: number): Promise<boolean> {
    return schedules.claimTick(this.#driver, clientId, name, tick, now)
  }

  settleTick(
    clientId: string,
    name: string,
    tick: number,
    outcome: { state: TickState; runId?: string; error?: string },
  ): Promise<void> {
    return schedules.settleTick(this.#driver, clientId, name, tick, outcome)
  }

  openTicks(claimedBefore: number, limit: number): Promise<TickRecord[]> {
    return schedules.openTicks(this.#driver, claimedBefore, limit)
  }

  recentTicks(clientId: string, name: string, limit: number): Promise<TickRecord[]> {
    return schedules.recentTicks(this.#driver, clientId, name, limit)
  }

  dump(sink: (line: DumpLine) => Promise<void> | void): Promise<Record<string, number>> {
    return dumpTables(this.#driver, sink)
  }

  async empty(): Promise<boolean> {
    return (await heldTable(this.#driver)) === undefined
  }

  load(
    lines: AsyncIterable<DumpLine>,
    options: { restoredFrom: string },
  ): Promise<Record<string, number>> {
    return loadTables(this.#driver, lines, options)
  }

  async ensureClient(clientId: string): Promise<void> {
    await ensureClient(this.#driver, this.#driver, clientId)
  }

  metaCalls() {
    return this.#driver.calls
  }

  addApiKey(clientId: string, keyHash: string, label = ''): Promise<void> {
    return this.#driver.transaction(async (tx) => {
      await ensureClient(this.#driver, tx, clientId)
      await tx.run(
        'INSERT INTO api_keys (hash, client_id, label, created) VALUES ($1, $2, $3, $4)',
        [keyHash, clientId, label, Date.now()],
      )
    })
  }

  async clientForKey(keyHash: string): Promise<string | undefined> {
    const rows = await this.#driver.all('SELECT client_id FROM api_keys WHERE hash = $1', [keyHash])
    return rows[0] ? String(rows[0].client_id) : undefined
  }

  async clientUsage(clientId: string): Promise<ClientUsage> {
    const [files] = await this.#driver.all(
      'SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM files WHERE client_id = $1',
      [clientId],
    )
    const [jobs] = await this.#driver.all(
      `SELECT COUNT(*) AS n FROM jobs WHERE client_id = $1 AND state IN ('queued', 'running')`,
      [clientId],
    )
    return {
      bytes: Number(files?.bytes ?? 0),
      files: Number(files?.n ?? 0),
      activeJobs: Number(jobs?.n ?? 0),
    }
  }

  async queuedJobs(): Promise<number> {
    const [row] = await this.#driver.all(`SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued'`)
    return Number(row?.n ?? 0)
  }

  async hasApiKeys(): Promise<boolean> {
    return (await this.#driver.all('SELECT 1 FROM api_keys LIMIT 1')).length > 0
  }

  async listApiKeys() {
    const rows = await this.#driver.all(
      'SELECT client_id, label, created, hash FROM api_keys ORDER BY client_id, created',
    )
    return rows.map((r) => ({
      clientId: String(r.client_id),
      label: String(r.label),
      created: Number(r.created),
      hashPrefix: String(r.hash).slice(0, 12),
    }))
  }

  revokeApiKeys(clientId: string, hashPrefix: string): Promise<number> {
    return this.#driver.run(
      'DELETE FROM api_keys WHERE client_id = $1 AND substr(hash, 1, $2) = $3',
      [clientId, hashPrefix.length, hashPrefix],
    )
  }

  async getFile(clientId: string, name: string): Promise<FileRecord | undefined> {
    const rows = await this.#driver.all('SELECT * FROM files WHERE client_id = $1 AND name = $2', [
      clientId,
      name,
    ])
    return rows[0] ? fileFromRow(rows[0]) : undefined
  }

  async listFiles(clientId: string, options: ListOptions): Promise<FileRecord[]> {
    const prefix = options.prefix ?? ''
    const after = options.after !== undefined && options.after > prefix ? options.after : undefined
    const rows = await this.#driver.all(
      `SELECT * FROM files WHERE client_id = $1 AND name ${after === undefined ? '>=' : '>'} $2
         AND name < $3 ORDER BY name LIMIT $4`,
      [clientId, after ?? prefix, prefixEnd(prefix), options.limit],
    )
    return rows.map(fileFromRow)
  }

  async manifest(fileId: string): Promise<ManifestEntry[]> {
    const rows = await this.#driver.all(
      `SELECT f.seq, f.start_offset, c.key, c.size, c.frequencies
         FROM file_chunks f JOIN chunks c ON c.key = f.chunk_key
        WHERE f.file_id = $1 ORDER BY f.seq`,
      [fileId],
    )
    return rows.map(manifestEntryFromRow)
  }

  async fileWithManifest(clientId: string, name: string) {
    // The file's columns on each row of its manifest (one row, its chunk's empty, for a file
    // of no chunks).
    const rows = await this.#driver.all(
      `SELECT f.*, m.seq, m.start_offset, c.key, c.size AS chunk_size, c.frequencies
         FROM files f
         LEFT JOIN file_chunks m ON m.file_id = f.id
         LEFT JOIN chunks c ON c.key = m.chunk_key
        WHERE f.client_id = $1 AND f.name = $2 ORDER BY m.seq`,
      [clientId, name],
    )
    if (!rows[0]) return undefined
    const manifest = rows
      .filter((r) => r.seq != null)
      .map((r) => manifestEntryFromRow({ ...r, size: r.chunk_size }))
    return { file: fileFromRow(rows[0]), manifest }
  }

  deleteFile(clientId: string, name: string) {
    return this.#driver.transaction(async (tx) => {
      await this.#driver.lockInTransaction(tx, `file:${clientId}/${name}`)
      const rows = await tx.all('SELECT * FROM files WHERE client_id = $1 AND name = $2', [
        clientId,
        name,
      ])
      if (!rows[0]) return undefined
      const file = fileFromRow(rows[0])
      const released = await dropFile(tx, file.id)
      await insertEvent(this.#driver, tx, clientId, file.id, 'file', fileEventData('deleted', file))
      return { file, released }
    })
  }

  async beginUpload(clientId: string, name: string): Promise<string> {
    const id = randomUUID()
    await this.#driver.transaction(async (tx) => {
      await ensureClient(this.#driver, tx, clientId)
      await tx.run('INSERT INTO uploads (id, client_id, name, touched) VALUES ($1, $2, $3, $4)', [
        id,
        clientId,
        name,
        Date.now(),
      ])
    })
    return id
  }

  addUploadChunk(
    uploadId: string,
    seq: number,
    chunk: ChunkInfo,
    options: AddChunkOptions = {},
  ): Promise<{ first: boolean }> {
    return this.#driver.transaction(async (tx) => {
      const touched = await tx.run('UPDATE uploads SET touched = $1 WHERE id = $2', [
        Date.now(),
        uploadId,
      ])
      if (touched === 0) throw uploadGone(uploadId)
      // A job's redelivered task stores its part again: the reference it holds is enough.
      const existing = await tx.all(
        'SELECT chunk_key FROM upload_chunks WHERE upload_id = $1 AND seq = $2',
        [uploadId, seq],
      )
      if (existing[0]) {
        if (String(existing[0].chunk_key) === chunk.key) return { first: false }
        throw new MetaError(
          'E_UPLOAD_CONFLICT',
          `upload ${uploadId} already holds another chunk at position ${seq}`,
        )
      }
      const first = (await referenceChunk(tx, chunk)) === 1
      await tx.run(
        `INSERT INTO upload_chunks (upload_id, seq, chunk_key, source_size, shared, pending)
          VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          uploadId,
          seq,
          chunk.key,
          options.sourceSize ?? null,
          first ? 0 : 1,
          options.pending ? 1 : 0,
        ],
      )
      return { first }
    }, options)
  }

  uploadProgress(uploadId: string): Promise<UploadProgress> {
    return uploadProgressIn(this.#driver, uploadId)
  }

  async uploadChunks(uploadId: string): Promise<{ key: string; size: number }[]> {
    const rows = await this.#driver.all(
      `SELECT u.chunk_key, c.size FROM upload_chunks u JOIN chunks c ON c.key = u.chunk_key
        WHERE u.upload_id = $1 ORDER BY u.seq`,
      [uploadId],
    )
    return rows.map((r) => ({ key: String(r.chunk_key), size: Number(r.size) }))
  }

  commitUpload(uploadId: string, summary: UploadSummary) {
    return this.#driver.transaction((tx) => commitUploadIn(this.#driver, tx, uploadId, summary))
  }

  async putFile(
    clientId: string,
    name: string,
    chunk: ChunkInfo | undefined,
    summary: UploadSummary,
    lease?: ChunkLease,
  ) {
    const put = await this.#driver.transaction(async (tx) => {
      await ensureClient(this.#driver, tx, clientId)
      return commitOneChunkIn(this.#driver, tx, { clientId, name }, chunk, summary, lease)
    })
    if (lease && chunk) lease.released = true
    return put
  }

  async commitJobOutput(
    jobId: string,
    version: number,
    summary: UploadSummary,
    patch: JobPatch,
    oneChunk?: OneChunkOutput,
  ) {
    const driver = this.#driver
    try {
      const committed = await driver.transaction((tx) =>
        withEvents(driver, tx, async () => {
          // The file first: every transaction takes a file's lock before the events' lock (the
          // file's event, then the job's), so two never wait on each other.
          let committed: { file: FileRecord; released: string[] }
          if (oneChunk) {
            // No look at the job first: should it have moved on, its compare-and-set below
            // fails and the file's commit is rolled back with it.
            const { chunk, sourceSize, clientId, output, lease, startedWith } = oneChunk
            const target = { clientId, name: output }
            committed = await commitOneChunkIn(driver, tx, target, chunk, summary, lease)
            if (startedWith) {
              const running = { state: 'running', output, result: startedWith, error: null }
              await insertEvent(driver, tx, clientId, jobId, 'state', running)
            }
            await insertEvent(driver, tx, clientId, jobId, 'progress', {
              chunksDone: 1,
              chunksTotal: 1,
              bytesIn: sourceSize,
              bytesOut: summary.size,
            })
          } else {
            const [row] = await tx.all(
              'SELECT upload_id FROM jobs WHERE id = $1 AND version = $2',
              [jobId, version],
            )
            if (row?.upload_id == null) return undefined
            committed = await commitUploadIn(driver, tx, String(row.upload_id), summary)
          }
          const job = await updateJobIn(driver, tx, jobId, version, patch)
          if (!job) throw MOVED_ON
          return { job, ...committed }
        }),
      )
      // The one chunk's lease went with the commit (`commitOneChunkIn`).
      if (committed && oneChunk?.lease && oneChunk.chunk) oneChunk.lease.released = true
      return committed
    } catch (error) {
      if (error === MOVED_ON) return undefined
      throw error
    }
  }

  abortUpload(uploadId: string): Promise<string[]> {
    return this.#driver.transaction(async (tx) => {
      const rows = await tx.all('SELECT chunk_key FROM upload_chunks WHERE upload_id = $1', [
        uploadId,
      ])
      await tx.run('DELETE FROM uploads WHERE id = $1', [uploadId])
      return release(
        tx,
        rows.map((r) => String(r.chunk_key)),
      )
    })
  }

  async staleUploads(before: number): Promise<string[]> {
    // A running job's output upload waits on its tasks, however long the queue holds them; a
    // resumable upload's waits for its client until the tus upload expires.
    const rows = await this.#driver.all(
      `SELECT id FROM uploads WHERE touched < $1 AND id NOT IN
        (SELECT upload_id FROM jobs WHERE upload_id IS NOT NULL AND state IN ('queued', 'running'))
        AND id NOT IN (SELECT upload_id FROM tus_uploads WHERE file_id IS NULL)`,
      [before],
    )
    return rows.map((r) => String(r.id))
  }

  async hasChunk(key: string): Promise<boolean> {
    return (await this.#driver.all('SELECT 1 FROM chunks WHERE key = $1', [key])).length > 0
  }

  async unreferencedChunks(limit: number): Promise<string[]> {
    const rows = await this.#driver.all('SELECT key FROM chunks WHERE refs = 0 LIMIT $1', [limit])
    return rows.map((r) => String(r.key))
  }

  async dropChunk(key: string): Promise<boolean> {
    return (await this.#driver.run('DELETE FROM chunks WHERE key = $1 AND refs = 0', [key])) > 0
  }

  withChunkLock<T>(key: string, fn: (held: HeldChunkLock) => Promise<T>): Promise<T> {
    // SQLite serves one process (its data folder is locked): an in-process lock is enough.
    if (!this.#leases) {
      return this.#driver.withLock(`chunk:${key}`, () => fn({ stored: () => this.hasChunk(key) }))
    }
    // PostgreSQL: the lease's statement reads the chunk's row too, one round trip for both.
    return this.#leases.run(key, (stored, lease) => fn({ stored: async () => stored, lease }))
  }

  async createJob(job: NewJob): Promise<{ job: JobRecord; created: boolean }> {
    return (await createJobs(this.#driver, [job]))[0]!
  }

  createJobs(jobs: readonly NewJob[]): Promise<{ job: JobRecord; created: boolean }[]> {
    return createJobs(this.#driver, jobs)
  }

  getJob(clientId: string, id: string): Promise<JobRecord | undefined> {
    return getJob(this.#driver, clientId, id)
  }

  listJobs(clientId: string, page: RecordPage) {
    return listJobs(this.#driver, clientId, page)
  }

  updateJob(id: string, version: number, patch: JobPatch): Promise<JobRecord | undefined> {
    return updateJob(this.#driver, id, version, patch)
  }

  retryJob(id: string, version: number): Promise<JobRecord | undefined> {
    return retryJob(this.#driver, id, version)
  }

  jobById(id: string): Promise<JobRecord | undefined> {
    return jobById(this.#driver, id)
  }

  jobsById(ids: readonly string[]): Promise<JobRecord[]> {
    return jobsById(this.#driver, ids)
  }

  addJobEvent(
    event: Pick<JobEvent, 'clientId' | 'jobId' | 'type' | 'data'>,
    options?: { durable?: boolean },
  ): Promise<void> {
    return addJobEvent(this.#driver, event, options)
  }

  addProgressEvent(event: ProgressEvent): Promise<UploadProgress> {
    return addProgressEvent(this.#driver, event)
  }

  jobEvents(query: JobEventQuery): Promise<JobEvent[]> {
    return jobEvents(this.#driver, query)
  }

  async lastJobEventId(): Promise<number> {
    const rows = await this.#driver.all('SELECT MAX(id) AS id FROM job_events')
    return Number(rows[0]?.id ?? 0)
  }

  unpublishedJobs(before: number, limit: number): Promise<JobRecord[]> {
    return unpublishedJobs(this.#driver, before, limit)
  }

  markJobsPublished(ids: readonly string[]): Promise<void> {
    return markJobsPublished(this.#driver, ids)
  }
  // Leader leases (`LeaderLeases`), in sql-leader-leases.ts.

  lead(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return leases.lead(this.#driver, name, holder, ttlMs)
  }

  resign(name: string, holder: string): Promise<void> {
    return leases.resign(this.#driver, name, holder)
  }

  holderOf(name: string): Promise<string | undefined> {
    return leases.holderOf(this.#driver, name)
  }

  // Storage nodes (`NodeRegistry`), in sql-node-registry.ts.

  listStorageNodes() {
    return registry.listStorageNodes(this.#driver)
  }

  saveStorageNode(node: Parameters<NodeRegistry['saveStorageNode']>[0]) {
    return registry.saveStorageNode(this.#driver, node)
  }

  setStorageNodeState(id: string, state: StorageNodeState) {
    return registry.setStorageNodeState(this.#driver, id, state)
  }

  // Image hashes and figures (`ImageStore`), in sql-images.ts.

  saveImage(entry: ImageEntry): Promise<void> {
    return images.saveImage(this.#driver, entry)
  }

  image(fileId: string) {
    return images.image(this.#driver, fileId)
  }

  nearImages(clientId: string, phash: string, distance: number) {
    return images.nearImages(this.#driver, clientId, phash, distance)
  }

  hashedImages(clientId: string, options: { after?: string; limit: number }) {
    return images.hashedImages(this.#driver, clientId, options)
  }

  saveImageOutputs(entry: ImageOutputsEntry): Promise<void> {
    return images.saveImageOutputs(this.#driver, entry)
  }

  imageBuckets(clientId: string, range: { from: number; to: number; bucketMs: number }) {
    return images.imageBuckets(this.#driver, clientId, range)
  }

  // Pipelines and runs (`RunStore`), in sql-runs.ts.

  savePipeline(clientId: string, name: string, definition: object): Promise<PipelineRecord> {
    return runs.savePipeline(this.#driver, clientId, name, definition)
  }

  pipeline(clientId: string, name: string, version?: number) {
    return runs.pipeline(this.#driver, clientId, name, version)
  }

  listPipelines(clientId: string, options: { after?: string; limit: number }) {
    return runs.listPipelines(this.#driver, clientId, options)
  }

  deletePipeline(clientId: string, name: string): Promise<boolean> {
    return runs.deletePipeline(this.#driver, clientId, name)
  }

  createRun(run: NewRun): Promise<{ run: RunRecord; created: boolean }> {
    return runs.createRun(this.#driver, run)
  }

  getRun(clientId: string, id: string): Promise<RunRecord | undefined> {
    return runs.getRun(this.#driver, clientId, id)
  }

  runById(id: string): Promise<RunRecord | undefined> {
    return runs.runById(this.#driver, id)
  }

  listRuns(clientId: string, page: RecordPage) {
    return runs.listRuns(this.#driver, clientId, page)
  }

  updateRun(id: string, version: number, patch: RunPatch, stepEvents?: Record<string, unknown>[]) {
    return runs.updateRun(this.#driver, id, version, patch, stepEvents)
  }

  runJobs(runId: string): Promise<JobRecord[]> {
    return runs.runJobs(this.#driver, runId)
  }

  stepJobs(runId: string, step: string, fromItem: number): Promise<RunJob[]> {
    return runs.stepJobs(this.#driver, runId, step, fromItem)
  }

  endedJobs(ids: readonly string[]): Promise<RunJob[]> {
    return runs.endedJobs(this.#driver, ids)
  }

  unpublishedRuns(before: number, limit: number): Promise<RunRecord[]> {
    return runs.unpublishedRuns(this.#driver, before, limit)
  }

  markRunPublished(id: string): Promise<void> {
    return runs.markRunPublished(this.#driver, id)
  }

  idleRuns(before: number, limit: number): Promise<RunRecord[]> {
    return runs.idleRuns(this.#driver, before, limit)
  }
}

/** Makes the upload the file under its name, replacing any previous one, inside `tx`. */
async function commitUploadIn(
  driver: SqlDriver,
  tx: SqlExecutor,
  uploadId: string,
  summary: UploadSummary,
): Promise<{ file: FileRecord; released: string[] }> {
  const uploads = await tx.all('SELECT client_id, name FROM uploads WHERE id = $1', [uploadId])
  if (!uploads[0]) throw uploadGone(uploadId)
  const chunks = await tx.all(
    `SELECT u.chunk_key, u.shared, c.size FROM upload_chunks u
        JOIN chunks c ON c.key = u.chunk_key WHERE u.upload_id = $1 ORDER BY u.seq`,
    [uploadId],
  )
  const committed = await commitFileIn(
    driver,
    tx,
    { id: uploadId, clientId: String(uploads[0].client_id), name: String(uploads[0].name) },
    chunks.map((c) => ({
      key: String(c.chunk_key),
      size: Number(c.size),
      shared: !!Number(c.shared),
    })),
    summary,
  )
  // The upload's references became the file's: counts stay as they are.
  await tx.run('DELETE FROM uploads WHERE id = $1', [uploadId])
  return committed
}

/**
 * Makes a file of `chunks` (each referenced already: by an upload, or just now) under its
 * name, replacing any previous one, inside `tx`; records its `file` event.
 */
async function commitFileIn(
  driver: SqlDriver,
  tx: SqlExecutor,
  target: { id: string; clientId: string; name: string },
  chunks: readonly { key: string; size: number; shared: boolean }[],
  summary: UploadSummary,
): Promise<{ file: FileRecord; released: string[] }> {
  const { id, clientId, name } = target
  const file: FileRecord = {
    id,
    clientId,
    name,
    size: summary.size,
    sha256: summary.sha256,
    contentType: summary.contentType,
    chunkCount: chunks.length,
    created: Date.now(),
  }
  let offset = 0
  const manifest: SqlParam[][] = chunks.map((chunk, i) => {
    const row = [file.id, i, chunk.key, offset]
    offset += chunk.size
    return row
  })
  if (offset !== summary.size) {
    throw new Error(`file ${id}: chunks hold ${offset} bytes, the body had ${summary.size}`)
  }
  // Most names are new: the file goes in at once, and the unique name decides between two
  // commits of one new name. A name in use is replaced under the name's lock (a delete takes
  // it too), looking again should a new file take the name between the look and the insert.
  const released: string[] = []
  let replacedSize: number | undefined
  while (!(await insertFile(driver, tx, file, manifest))) {
    await driver.lockInTransaction(tx, `file:${clientId}/${name}`)
    const [previous] = await tx.all(
      'SELECT id, size FROM files WHERE client_id = $1 AND name = $2',
      [clientId, name],
    )
    if (!previous) continue
    released.push(...(await dropFile(tx, String(previous.id))))
    replacedSize = (replacedSize ?? 0) + Number(previous.size)
  }
  await insertEvent(driver, tx, clientId, file.id, 'file', {
    ...fileEventData('created', file),
    replaced: replacedSize !== undefined,
    // What the usage statistics need: the bytes the replaced file held, and those of this
    // file's chunks that were stored already (deduplication wrote them once).
    ...(replacedSize !== undefined ? { replacedSize } : {}),
    deduplicated: chunks.reduce((sum, c) => sum + (c.shared ? c.size : 0), 0),
  })
  return { file, released }
}

/**
 * Inserts the file's row and its manifest unless its name is taken (then nothing, and false).
 * On PostgreSQL a file of at most one chunk is one statement.
 */
async function insertFile(
  driver: SqlDriver,
  tx: SqlExecutor,
  file: FileRecord,
  manifest: readonly SqlParam[][],
): Promise<boolean> {
  const row = [
    file.id,
    file.clientId,
    file.name,
    file.size,
    file.sha256,
    file.contentType,
    file.chunkCount,
    file.created,
  ]
  if (driver.dialect === 'postgres' && manifest.length === 1) {
    const [, , key] = manifest[0]!
    return (await tx.all(INSERT_FILE_OF_ONE_CHUNK, [...row, key!])).length > 0
  }
  if ((await tx.all(INSERT_FILE, row)).length === 0) return false
  // The manifest in statements of many rows: a 1 GiB file's 256 chunks were 256 round trips.
  for (let at = 0; at < manifest.length; at += MANIFEST_ROWS) {
    const batch = manifest.slice(at, at + MANIFEST_ROWS)
    await tx.run(manifestInsert(batch.length), batch.flat())
  }
  return true
}

const INSERT_FILE = `INSERT INTO files (id, client_id, name, size, sha256, content_type, chunk_count, created)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (client_id, name) DO NOTHING RETURNING id`

/** `INSERT_FILE` and its one manifest row (`$9`: the chunk's key) together. */
const INSERT_FILE_OF_ONE_CHUNK = `WITH f AS (${INSERT_FILE}),
  m AS (INSERT INTO file_chunks (file_id, seq, chunk_key, start_offset) SELECT id, 0, $9, 0 FROM f)
  SELECT id FROM f`

/** Makes a file of at most one chunk, referencing the chunk, inside `tx` (see `commitFileIn`). */
async function commitOneChunkIn(
  driver: SqlDriver,
  tx: SqlExecutor,
  target: { clientId: string; name: string },
  chunk: ChunkInfo | undefined,
  summary: UploadSummary,
  lease?: ChunkLease,
): Promise<{ file: FileRecord; released: string[] }> {
  const chunks = []
  if (chunk) {
    const shared = (await referenceChunk(tx, chunk, lease)) > 1
    chunks.push({ key: chunk.key, size: chunk.size, shared })
  }
  return commitFileIn(driver, tx, { id: randomUUID(), ...target }, chunks, summary)
}

/** Manifest rows one statement inserts at most (4 parameters each, well within both engines). */
const MANIFEST_ROWS = 500

function manifestInsert(rows: number): string {
  return `INSERT INTO file_chunks (file_id, seq, chunk_key, start_offset)
    VALUES ${valuesList(rows, 4, 1)}`
}

const REFERENCE_CHUNK = `INSERT INTO chunks (key, size, frequencies, refs, created)
  VALUES ($1, $2, $3, 1, $4) ON CONFLICT (key) DO UPDATE SET refs = chunks.refs + 1 RETURNING refs`

/**
 * Adds a reference to the chunk, recording it if new; its count of references now. With the
 * chunk's `lease` (PostgreSQL), the lease is released in the same statement: once this commits,
 * the row protects the blob, and until then the lease does.
 */
async function referenceChunk(
  tx: SqlExecutor,
  chunk: ChunkInfo,
  lease?: ChunkLease,
): Promise<number> {
  const params = [chunk.key, chunk.size, encodeFrequencies(chunk.frequencies), Date.now()]
  const rows = lease
    ? await tx.all(
        `WITH released AS (DELETE FROM chunk_leases WHERE key = $5 AND owner = $6)
         ${REFERENCE_CHUNK}`,
        [...params, lease.key, lease.owner],
      )
    : await tx.all(REFERENCE_CHUNK, params)
  return Number(rows[0]?.refs)
}

/** Deletes a file row and its manifest; the keys whose reference count reached zero. */
async function dropFile(tx: SqlExecutor, fileId: string): Promise<string[]> {
  const rows = await tx.all('SELECT chunk_key FROM file_chunks WHERE file_id = $1', [fileId])
  await tx.run('DELETE FROM file_chunks WHERE file_id = $1', [fileId])
  await tx.run('DELETE FROM files WHERE id = $1', [fileId])
  return release(
    tx,
    rows.map((r) => String(r.chunk_key)),
  )
}

/** Rolls back a job output's commit when the job moved on meanwhile (nothing changed). */
const MOVED_ON = Symbol('job moved on')

/** A `file` event's data: the file as it was created or deleted. */
function fileEventData(action: 'created' | 'deleted', file: FileRecord): Record<string, unknown> {
  return {
    action,
    name: file.name,
    size: file.size,
    sha256: file.sha256,
    contentType: file.contentType,
  }
}

function uploadGone(uploadId: string): MetaError {
  return new MetaError(
    'E_UPLOAD_GONE',
    `upload ${uploadId} no longer exists (it was aborted or collected)`,
  )
}
