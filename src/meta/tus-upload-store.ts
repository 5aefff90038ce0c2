/** A resumable upload (tus 1.0) as stored. */
export interface TusUploadRecord {
  id: string
  clientId: string
  /** The upload row whose chunks hold the bytes received so far (`MetaStore.beginUpload`). */
  uploadId: string
  /** The file it becomes. */
  name: string
  /** Undefined while the client defers it (`Upload-Defer-Length`). */
  length: number | undefined
  /** Bytes received and stored: the offset the next PATCH must start at. */
  received: number
  /** The position of the next chunk in the upload. */
  nextSeq: number
  /** `Upload-Metadata`, decoded. */
  metadata: Record<string, string>
  /** `partial`, or the `final;…` header of a concatenation; undefined for a plain upload. */
  concat: string | undefined
  /** Set once complete: the file it became. */
  fileId: string | undefined
  created: number
  /** When it is freed if not complete (ms since the epoch); pushed on by every PATCH. */
  expires: number
}

/** Where a PATCH left an upload: compared and set as one step. */
export interface TusProgress {
  received: number
  nextSeq: number
  length: number | undefined
  expires: number
}

/**
 * The tus uploads port: the state of resumable uploads between requests. The bytes themselves
 * are chunks of an ordinary upload row, so storing, deduplication and garbage collection are
 * the files' (an upload row held by a tus upload is not stale until the tus upload expires).
 */
export interface TusUploadStore {
  createTusUpload(record: TusUploadRecord): Promise<void>
  getTusUpload(clientId: string, id: string): Promise<TusUploadRecord | undefined>
  /** Compare-and-set: moves the upload from `from` to `to`; false when another request moved it. */
  advanceTusUpload(id: string, from: TusProgress, to: TusProgress): Promise<boolean>
  /** Records the file a completed upload became. */
  completeTusUpload(id: string, fileId: string): Promise<void>
  /** Forgets the upload (its upload row is the caller's to abort); false when it was gone. */
  deleteTusUpload(id: string): Promise<boolean>
  /** Uploads whose expiry passed, oldest first. */
  expiredTusUploads(now: number, limit: number): Promise<TusUploadRecord[]>
  /** Unreferences the upload's chunks from position `fromSeq` on; the keys left unreferenced. */
  truncateUpload(uploadId: string, fromSeq: number): Promise<string[]>
  /**
   * Appends every chunk of `fromUploadId` to `uploadId` from position `atSeq`, referencing the
   * chunks again rather than copying them; the number appended.
   */
  appendUploadChunks(uploadId: string, fromUploadId: string, atSeq: number): Promise<number>
}
