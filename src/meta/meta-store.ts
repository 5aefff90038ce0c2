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

/** How `addUploadChunk` records a chunk. */
export interface AddChunkOptions {
  /** The input a job's output chunk came from, summed by `uploadProgress`. */
  sourceSize?: number
  /**
   * `false` records the chunk without waiting for the disk: an upload's chunks matter only once
   * its commit (durable, and flushing what came before it) names them. Default `true`.
   */
  durable?: boolean
  /**
   * `true` for a job's part: the chunk counts in the job's progress only once
   * `addProgressEvent` says its part is done (its bytes stored), not from this reference on.
   */
  pending?: boolean
}

/** What `addProgressEvent` needs: whose job, its output upload, and how many parts it has. */
export interface ProgressEvent {
  clientId: string
  jobId: string
  uploadId: string
  /** The part now done (stored at this position of the upload). */
  seq: number
  chunksTotal: number
}

/** A job's output of at most one chunk, committed with the job (see `commitJobOutput`). */
export interface OneChunkOutput {
  /** The output's chunk; none when the output is empty. */
  chunk: ChunkInfo | undefined
  /** The input bytes it was made from (the progress event's `bytesIn`). */
  sourceSize: number
  /** The job's client and output name (a job's versions never change them). */
  clientId: string
  output: string
  /** The chunk's lease, released with the commit (see `HeldChunkLock.lease`). */
  lease?: ChunkLease
  /**
   * The job was still `queued` (its start was not recorded on its own): its `running` state
   * event, with this result, goes in before its end's, so its events read as any job's.
   */
  startedWith?: Record<string, unknown>
}

/**
 * The metadata port: clients and API keys, files and their manifests, chunk reference counts,
 * uploads in progress, and job records. Adapters apply their migrations in `start()`.
 *
 * Chunk lifetime: a chunk's `refs` counts the manifests and uploads in progress that use it.
 * An upload references each chunk as it arrives (`addUploadChunk`), so a chunk being uploaded is
 * never freed under it; committing moves those references to the file; deleting or replacing a
 * file, or aborting an upload, returns the keys whose count reached zero, which the caller frees
 * with `dropChunk` under `withChunkLock`.
 */
export interface MetaStore {
  readonly name: string
  start(): Promise<void>
  close(): Promise<void>

  ensureClient(clientId: string): Promise<void>
  /** Stores the sha256 of an API key for a client (created if new). */
  addApiKey(clientId: string, keyHash: string, label?: string): Promise<void>
  clientForKey(keyHash: string): Promise<string | undefined>
  hasApiKeys(): Promise<boolean>
  listApiKeys(): Promise<{ clientId: string; label: string; created: number; hashPrefix: string }[]>
  /** Removes every key of the client whose hash starts with `hashPrefix`; the number removed. */
  revokeApiKeys(clientId: string, hashPrefix: string): Promise<number>

  getFile(clientId: string, name: string): Promise<FileRecord | undefined>
  listFiles(clientId: string, options: ListOptions): Promise<FileRecord[]>
  manifest(fileId: string): Promise<ManifestEntry[]>
  /** `getFile` and its `manifest` in one statement (a job's start reads both). */
  fileWithManifest(
    clientId: string,
    name: string,
  ): Promise<{ file: FileRecord; manifest: ManifestEntry[] } | undefined>
  /** Deletes the file; the chunk keys it left unreferenced, or undefined when it did not exist. */
  deleteFile(
    clientId: string,
    name: string,
  ): Promise<{ file: FileRecord; released: string[] } | undefined>

  beginUpload(clientId: string, name: string): Promise<string>
  /**
   * References the chunk for the upload at position `seq`; `first` is true when no one
   * referenced it before. Adding the same chunk at the same position again changes nothing
   * (a redelivered job task); another chunk there is `E_UPLOAD_CONFLICT`.
   */
  addUploadChunk(
    uploadId: string,
    seq: number,
    chunk: ChunkInfo,
    options?: AddChunkOptions,
  ): Promise<{ first: boolean }>
  uploadProgress(uploadId: string): Promise<UploadProgress>
  /** The upload's chunks in order. */
  uploadChunks(uploadId: string): Promise<{ key: string; size: number }[]>
  /** Makes the upload the file under its name, atomically replacing any previous one. */
  commitUpload(
    uploadId: string,
    summary: UploadSummary,
  ): Promise<{ file: FileRecord; released: string[] }>
  /**
   * A file of at most one chunk in one transaction, without an upload: references the chunk
   * (its blob stored already, under `withChunkLock`) and makes the file under its name,
   * atomically replacing any previous one.
   */
  putFile(
    clientId: string,
    name: string,
    chunk: ChunkInfo | undefined,
    summary: UploadSummary,
    lease?: ChunkLease,
  ): Promise<{ file: FileRecord; released: string[] }>
  /** Forgets the upload; the chunk keys it left unreferenced. */
  abortUpload(uploadId: string): Promise<string[]>
  /**
   * Uploads that have not added a chunk since `before` (ms since the epoch), except the
   * output uploads of jobs still queued or running.
   */
  staleUploads(before: number): Promise<string[]>

  /** Whether a chunk row exists (referenced or waiting to be freed). */
  hasChunk(key: string): Promise<boolean>
  /** Chunks nothing references that are still recorded (a crash came before their free). */
  unreferencedChunks(limit: number): Promise<string[]>
  /** Deletes the chunk row if nothing references it; true when it did. */
  dropChunk(key: string): Promise<boolean>
  /**
   * Runs `fn` while no other caller holds the lock of this chunk key (in any process); `fn` may
   * ask whether the chunk's row exists (as `hasChunk`; on PostgreSQL read with the lock).
   */
  withChunkLock<T>(key: string, fn: (held: HeldChunkLock) => Promise<T>): Promise<T>

  /** Creates the job, or returns the client's job with the same idempotency key. */
  createJob(job: NewJob): Promise<{ job: JobRecord; created: boolean }>
  /** `createJob` of each, in order, at once (a run's fan-out): one statement or transaction. */
  createJobs(jobs: readonly NewJob[]): Promise<{ job: JobRecord; created: boolean }[]>
  getJob(clientId: string, id: string): Promise<JobRecord | undefined>
  listJobs(clientId: string, page: RecordPage): Promise<JobRecord[]>
  /** Compare-and-set: applies the patch only if the job is still at `version`. */
  /** A state change also records a `state` event, in the same transaction. */
  updateJob(id: string, version: number, patch: JobPatch): Promise<JobRecord | undefined>
  /** Any client's job by id: for workers, whose tasks name the job. */
  jobById(id: string): Promise<JobRecord | undefined>
  /** Any clients' jobs by id, those that exist, in one statement (for tailers of the events). */
  jobsById(ids: readonly string[]): Promise<JobRecord[]>
  /**
   * In one transaction: the compare-and-set of the job at `version` and the commit of its
   * output as a file — its output upload, or, given `oneChunk`, that chunk alone (referenced
   * here, its blob stored already under `withChunkLock`; none for an empty file) with no upload,
   * and the job's one progress event. Undefined, and nothing changed, when the job moved on.
   */
  commitJobOutput(
    jobId: string,
    version: number,
    summary: UploadSummary,
    patch: JobPatch,
    oneChunk?: OneChunkOutput,
  ): Promise<{ job: JobRecord; file: FileRecord; released: string[] } | undefined>
  /** `durable: false` for events worth no fsync of their own (downloads, for statistics). */
  addJobEvent(
    event: Pick<JobEvent, 'clientId' | 'jobId' | 'type' | 'data'>,
    options?: { durable?: boolean },
  ): Promise<void>
  /**
   * Adds a `progress` event with the progress of the job's output upload, read while holding
   * the turn of event writers: parts finishing at once then report in order, and a job's
   * progress never goes back. Returns the progress recorded.
   */
  addProgressEvent(event: ProgressEvent): Promise<UploadProgress>
  /** Events in id order; ids become visible in increasing order, so `after` never skips one. */
  jobEvents(query: JobEventQuery): Promise<JobEvent[]>
  /** The newest event's id (0 when there is none). */
  lastJobEventId(): Promise<number>
  /** The outbox: jobs created before `before` not yet marked published. */
  unpublishedJobs(before: number, limit: number): Promise<JobRecord[]>
  /**
   * A failed job back to `queued` for another try (compare-and-set at `version`): its error,
   * result and output upload cleared, unpublished (the outbox), with a `state` event.
   */
  retryJob(id: string, version: number): Promise<JobRecord | undefined>
  /** Marks the jobs' first tasks published (the outbox), without a sync of its own. */
  markJobsPublished(ids: readonly string[]): Promise<void>
}

/** What the holder of a chunk's lock may ask (`MetaStore.withChunkLock`). */
export interface HeldChunkLock {
  /** Whether the chunk's row exists, as `hasChunk` says. */
  stored(): Promise<boolean>
  /**
   * Where the lock is a row of the database (PostgreSQL's leases): passed to the commit that
   * records the chunk (`putFile`, `OneChunkOutput`), it is released in that transaction, and
   * the lock then sends no release of its own (one round trip fewer).
   */
  readonly lease?: ChunkLease
}

/** A chunk's lease, as a commit that records the chunk releases it (`HeldChunkLock.lease`). */
export interface ChunkLease {
  readonly key: string
  readonly owner: string
  /** Set once a commit that released the lease has committed. */
  released: boolean
}
