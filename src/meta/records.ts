/** A stored file as clients see it. `id` changes when the name is written again. */
export interface FileRecord {
  id: string
  clientId: string
  name: string
  size: number
  sha256: string
  contentType: string
  chunkCount: number
  /** Milliseconds since the epoch. */
  created: number
}

/** A content-addressed chunk: its key (sha256 hex), size and 256-entry byte-frequency table. */
export interface ChunkInfo {
  key: string
  size: number
  frequencies: Uint32Array
}

/** One entry of a file's manifest: which chunk holds bytes `[offset, offset + length)`. */
export interface ManifestEntry extends ChunkInfo {
  seq: number
  offset: number
}

/** What an upload knows once its last byte has arrived. */
export interface UploadSummary {
  size: number
  sha256: string
  contentType: string
}

/** A page of a listing, ordered by name; `after` continues from the last name returned. */
export interface ListOptions {
  prefix?: string
  after?: string
  limit: number
}

export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type JobState = (typeof JOB_STATES)[number]

/**
 * A page of a client's jobs or runs, in the order of their ids (their creation): oldest first,
 * or newest first with `newest`. `after` is the id of the last item of the page before, in
 * that order.
 */
export interface RecordPage {
  state?: JobState
  after?: string
  limit: number
  newest?: boolean
}

/** A job record, changed only by compare-and-set on `version`. */
export interface JobRecord {
  id: string
  clientId: string
  type: string
  state: JobState
  /** The first (or only) file it reads. */
  input: string
  /** Every file a joining kind (`tar`) reads, in order; null for kinds that read one. */
  inputs: string[] | null
  /** A file name, a prefix ending in `/` (kinds writing many files), or '' (none). */
  output: string
  params: Record<string, unknown>
  /** The pipeline run, step and item (position among the step's jobs) it belongs to, if any. */
  runId: string | null
  step: string | null
  item: number | null
  /** The shard whose work queue its tasks travel on (`jobs.<kind>.<shard>`), if sharded. */
  shard: number | null
  /** How often it was retried after failing (0 at first). */
  attempt: number
  result: Record<string, unknown> | null
  error: { code: string; message: string } | null
  idempotencyKey: string | null
  /** The upload collecting the output's chunks while the job runs. */
  uploadId: string | null
  /** Whether the job's first task is on the queue (the outbox flag). */
  published: boolean
  version: number
  created: number
  updated: number
}

export type NewJob = Pick<JobRecord, 'id' | 'clientId' | 'type' | 'input' | 'output' | 'params'> & {
  inputs?: string[]
  idempotencyKey?: string
  run?: { id: string; step: string; item: number; shard?: number }
}

export type JobPatch = Partial<
  Pick<JobRecord, 'state' | 'output' | 'result' | 'error' | 'uploadId'>
> & {
  /**
   * With `uploadId`: begins that upload, of a file of this name for the job's client, in the
   * same transaction (a job's output upload, begun as the job starts running).
   */
  beginUpload?: string
}

/** A change of a job, in the order written; `id` increases across all jobs. */
export interface JobEvent {
  id: number
  clientId: string
  jobId: string
  /**
   * `state` on every state change (data: the job's or run's changing fields), `progress` as
   * parts finish, `step` as a run's step changes (`jobId` is then the run's id), `file` as a
   * file is created or deleted (`jobId` is then the file's id; data: action, name, size,
   * sha256, contentType), in the same transaction as the change; `download` once a file's
   * bytes were sent (data: name, bytes), for the statistics.
   */
  type: 'state' | 'progress' | 'step' | 'file' | 'download'
  data: Record<string, unknown>
  created: number
}

/** Which events to read: those after `after`, of one client and optionally one job. */
export interface JobEventQuery {
  after: number
  clientId?: string
  jobId?: string
  limit: number
}

/** How far an upload has come: chunks stored, their bytes, and the input bytes they came from. */
export interface UploadProgress {
  chunks: number
  bytes: number
  sourceBytes: number
}
