import type {
  ChunkInfo,
  FileRecord,
  JobPatch,
  JobRecord,
  JobState,
  ListOptions,
  ManifestEntry,
  NewJob,
  UploadSummary,
} from './records.ts'

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
  /** Deletes the file; the chunk keys it left unreferenced, or undefined when it did not exist. */
  deleteFile(
    clientId: string,
    name: string,
  ): Promise<{ file: FileRecord; released: string[] } | undefined>

  beginUpload(clientId: string, name: string): Promise<string>
  /** References the chunk for the upload; `first` is true when no one referenced it before. */
  addUploadChunk(uploadId: string, seq: number, chunk: ChunkInfo): Promise<{ first: boolean }>
  /** Makes the upload the file under its name, atomically replacing any previous one. */
  commitUpload(
    uploadId: string,
    summary: UploadSummary,
  ): Promise<{ file: FileRecord; released: string[] }>
  /** Forgets the upload; the chunk keys it left unreferenced. */
  abortUpload(uploadId: string): Promise<string[]>
  /** Uploads that have not added a chunk since `before` (ms since the epoch). */
  staleUploads(before: number): Promise<string[]>

  /** Whether a chunk row exists (referenced or waiting to be freed). */
  hasChunk(key: string): Promise<boolean>
  /** Chunks nothing references that are still recorded (a crash came before their free). */
  unreferencedChunks(limit: number): Promise<string[]>
  /** Deletes the chunk row if nothing references it; true when it did. */
  dropChunk(key: string): Promise<boolean>
  /** Runs `fn` while no other caller holds the lock of this chunk key (in any process). */
  withChunkLock<T>(key: string, fn: () => Promise<T>): Promise<T>

  /** Creates the job, or returns the client's job with the same idempotency key. */
  createJob(job: NewJob): Promise<{ job: JobRecord; created: boolean }>
  getJob(clientId: string, id: string): Promise<JobRecord | undefined>
  listJobs(
    clientId: string,
    options: { state?: JobState; after?: string; limit: number },
  ): Promise<JobRecord[]>
  /** Compare-and-set: applies the patch only if the job is still at `version`. */
  updateJob(id: string, version: number, patch: JobPatch): Promise<JobRecord | undefined>
}
