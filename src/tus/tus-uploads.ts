import { createHash, type Hash, randomBytes } from 'node:crypto'
import { checkFileName, type FileService } from '../files/index.ts'
import type { FileRecord, MetaStore, TusUploadRecord, TusUploadStore } from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { TusError } from './errors.ts'
import { checksumCheck } from './upload-checksum.ts'

export interface TusUploadsOptions {
  files: FileService
  meta: MetaStore & TusUploadStore
  logger: Logger
  /** An upload not completed this long after its last PATCH is freed (tus expiration). */
  expireAfterMs: number
  /** The largest upload taken (`Tus-Max-Size`); 0: no limit of its own. */
  maxSize: number
  now?: () => number
}

export interface CreateRequest {
  /** Undefined: deferred (`Upload-Defer-Length: 1`). */
  length: number | undefined
  metadata: Record<string, string>
  /** A part of a later concatenation (`Upload-Concat: partial`). */
  partial: boolean
}

export interface PatchRequest {
  /** `Upload-Offset`: where the client says the bytes start. */
  offset: number
  /** `Upload-Length`, given on a PATCH to end a deferred length. */
  length?: number
  /** `Upload-Checksum`. */
  checksum?: string
  body: AsyncIterable<Uint8Array>
}

/** Where an upload is after a request: its record, and the file it became once complete. */
export interface TusAnswer {
  upload: TusUploadRecord
  /** Set by the request that completed it. */
  completed?: FileRecord
}

/** Running sha256 of uploads this process received from their first byte, for the file's hash. */
const MAX_RUNNING_HASHES = 1024

/**
 * Resumable uploads (tus 1.0) on Piper's chunk store. Each PATCH's bytes are cut into chunks
 * and stored as they arrive, appended to the upload row the tus upload holds; only the offset
 * moves between requests, compared and set, under a lock per upload across processes. A PATCH
 * cut off keeps what arrived (without a checksum); one whose checksum does not match keeps
 * nothing. On completion the upload becomes an ordinary file, atomically, as a PUT's would.
 */
export class TusUploads {
  readonly #files: FileService
  readonly #meta: MetaStore & TusUploadStore
  readonly #log: Logger
  readonly #expireAfterMs: number
  readonly maxSize: number
  readonly #now: () => number
  /** The sha256 of bytes 0…`at` of uploads PATCHed here; a miss is read back at completion. */
  readonly #hashes = new Map<string, { hash: Hash; at: number }>()

  constructor(options: TusUploadsOptions) {
    this.#files = options.files
    this.#meta = options.meta
    this.#log = options.logger.child({ component: 'tus' })
    this.#expireAfterMs = options.expireAfterMs
    this.maxSize = options.maxSize
    this.#now = options.now ?? Date.now
  }

  async create(client: string, request: CreateRequest): Promise<TusUploadRecord> {
    const name = request.partial ? '' : nameOf(request.metadata)
    if (request.length !== undefined) this.#checkLength(request.length)
    const uploadId = await this.#files.beginUpload(client, name || '.tus-part')
    const upload = this.#newRecord(client, uploadId, name, request.metadata, {
      length: request.length,
      received: 0,
      nextSeq: 0,
      concat: request.partial ? 'partial' : undefined,
    })
    await this.#meta.createTusUpload(upload)
    this.#log.info({ client, tus: upload.id, length: upload.length, name }, 'tus upload created')
    // An empty upload is complete as it is created.
    if (upload.length === 0 && !upload.concat) return (await this.#complete(upload)).upload
    return upload
  }

  /** The client's upload; `E_TUS_NOT_FOUND` (404) or `E_TUS_EXPIRED` (410). */
  async get(client: string, id: string): Promise<TusUploadRecord> {
    const upload = /^[0-9a-f]{32}$/.test(id) ? await this.#meta.getTusUpload(client, id) : undefined
    if (!upload) throw new TusError('E_TUS_NOT_FOUND', `no upload ${id}`)
    if (upload.expires <= this.#now() && !upload.fileId) {
      throw new TusError('E_TUS_EXPIRED', `upload ${id} expired and was freed`)
    }
    return upload
  }

  /** Appends the body at `offset`; completes the upload when its last byte arrives. */
  patch(client: string, id: string, request: PatchRequest): Promise<TusAnswer> {
    // One PATCH of an upload at a time in the whole deployment: a second one (a client resuming
    // while its cut-off request is still being stored) waits, then sees the new offset.
    return this.#meta.withChunkLock(`tus:${id}`, () => this.#patch(client, id, request))
  }

  async #patch(client: string, id: string, request: PatchRequest): Promise<TusAnswer> {
    const upload = await this.get(client, id)
    if (upload.concat?.startsWith('final')) {
      throw new TusError('E_TUS_FINAL', 'a final upload of a concatenation takes no PATCH')
    }
    if (request.offset !== upload.received) {
      throw new TusError(
        'E_TUS_OFFSET',
        `Upload-Offset is ${request.offset}; upload ${id} has ${upload.received} bytes`,
      )
    }
    const length = this.#lengthAfter(upload, request.length)
    if (upload.fileId) {
      await refuseBytes(request.body, upload.id)
      return { upload }
    }
    const check = checksumCheck(request.checksum)
    const hash = this.#runningHash(upload)
    const room = (length ?? (this.maxSize || Number.POSITIVE_INFINITY)) - upload.received
    let received = 0
    let cut: unknown
    let chunks = 0
    try {
      chunks = await this.#files.appendStream(
        upload.uploadId,
        upload.nextSeq,
        untilCut(request.body, (error) => {
          cut = error
        }),
        (piece) => {
          received += piece.length
          if (received > room) {
            throw new TusError(
              'E_TUS_TOO_LARGE',
              `the body runs past the upload's ${length === undefined ? 'size limit' : 'length'} (${upload.received + room} bytes)`,
            )
          }
          check?.update(piece)
          hash?.update(piece)
        },
      )
      if (check && (cut || !check.matches())) {
        throw new TusError(
          'E_TUS_CHECKSUM',
          cut
            ? 'the connection was cut before the checksummed body ended; nothing of it was kept'
            : 'the body does not match Upload-Checksum; nothing of it was kept',
        )
      }
    } catch (error) {
      await this.#files.free(await this.#meta.truncateUpload(upload.uploadId, upload.nextSeq))
      throw error
    }
    const from = {
      received: upload.received,
      nextSeq: upload.nextSeq,
      length: upload.length,
      expires: upload.expires,
    }
    const to = {
      received: upload.received + received,
      nextSeq: upload.nextSeq + chunks,
      length,
      expires: this.#now() + this.#expireAfterMs,
    }
    if (!(await this.#meta.advanceTusUpload(id, from, to))) {
      // Under the lock this cannot happen unless the upload was terminated or expired meanwhile.
      throw new TusError('E_TUS_NOT_FOUND', `upload ${id} was ended while this PATCH ran`)
    }
    if (hash) this.#remember(id, hash, to.received)
    else this.#hashes.delete(id)
    const advanced = { ...upload, ...to }
    if (cut) {
      this.#log.info(
        { tus: id, offset: to.received },
        'tus patch cut off; the bytes received are kept',
      )
      throw cut
    }
    if (advanced.length === advanced.received && !advanced.concat) {
      return this.#complete(advanced)
    }
    return { upload: advanced }
  }

  /**
   * Joins complete partial uploads, in order, into one file (tus concatenation): the parts'
   * chunks are referenced again, not copied; the parts are freed.
   */
  async concatenate(
    client: string,
    partIds: readonly string[],
    metadata: Record<string, string>,
    header: string,
  ): Promise<TusAnswer> {
    const name = nameOf(metadata)
    if (partIds.length === 0) throw new TusError('E_TUS_REQUEST', 'Upload-Concat names no parts')
    const parts: TusUploadRecord[] = []
    for (const partId of partIds) {
      const part = await this.get(client, partId)
      if (part.concat !== 'partial') {
        throw new TusError('E_TUS_REQUEST', `upload ${partId} is not a partial upload`)
      }
      if (part.length === undefined || part.received !== part.length) {
        throw new TusError(
          'E_TUS_REQUEST',
          `partial upload ${partId} is not complete (${part.received} of ${part.length ?? '?'} bytes)`,
        )
      }
      parts.push(part)
    }
    const length = parts.reduce((sum, part) => sum + part.received, 0)
    this.#checkLength(length)
    const uploadId = await this.#files.beginUpload(client, name)
    let seq = 0
    try {
      for (const part of parts) {
        seq += await this.#meta.appendUploadChunks(uploadId, part.uploadId, seq)
      }
    } catch (error) {
      await this.#files.abortUpload(uploadId).catch(() => {})
      throw error
    }
    const upload = this.#newRecord(client, uploadId, name, metadata, {
      length,
      received: length,
      nextSeq: seq,
      concat: header,
    })
    await this.#meta.createTusUpload(upload)
    const answer = await this.#complete(upload)
    for (const part of parts) await this.#end(part)
    return answer
  }

  /** Ends an upload and frees what it stored (tus termination). A complete one's file stays. */
  async terminate(client: string, id: string): Promise<void> {
    await this.#meta.withChunkLock(`tus:${id}`, async () => this.#end(await this.get(client, id)))
  }

  /** Frees uploads past their expiry (the maintenance pass); how many. */
  async sweepExpired(): Promise<number> {
    let swept = 0
    for (;;) {
      const expired = await this.#meta.expiredTusUploads(this.#now(), 100)
      for (const upload of expired) await this.#end(upload)
      swept += expired.length
      if (expired.length < 100) break
    }
    if (swept > 0) this.#log.info({ uploads: swept }, 'expired tus uploads freed')
    return swept
  }

  #newRecord(
    client: string,
    uploadId: string,
    name: string,
    metadata: Record<string, string>,
    progress: Pick<TusUploadRecord, 'length' | 'received' | 'nextSeq' | 'concat'>,
  ): TusUploadRecord {
    const now = this.#now()
    return {
      id: randomBytes(16).toString('hex'),
      clientId: client,
      uploadId,
      name,
      metadata,
      ...progress,
      fileId: undefined,
      created: now,
      expires: now + this.#expireAfterMs,
    }
  }

  /** Completes the upload if a crash cut its completion short (HEAD after a restart). */
  async settle(upload: TusUploadRecord): Promise<TusAnswer> {
    if (upload.fileId || upload.concat || upload.length !== upload.received) return { upload }
    return this.#meta.withChunkLock(`tus:${upload.id}`, async () => {
      const now = await this.get(upload.clientId, upload.id)
      return now.fileId ? { upload: now } : this.#complete(now)
    })
  }

  async #end(upload: TusUploadRecord): Promise<void> {
    this.#hashes.delete(upload.id)
    if (!upload.fileId) {
      await this.#files.abortUpload(upload.uploadId).catch((error: unknown) => {
        if ((error as { code?: string }).code !== 'E_UPLOAD_GONE') throw error
      })
    }
    await this.#meta.deleteTusUpload(upload.id)
  }

  /** Commits the complete upload as a file and records which. */
  async #complete(upload: TusUploadRecord): Promise<TusAnswer> {
    const running = this.#hashes.get(upload.id)
    this.#hashes.delete(upload.id)
    let file: FileRecord
    // A commit that happened before a crash left the file (its id is the upload's) behind.
    const committed = await this.#meta.getFile(upload.clientId, upload.name)
    if (committed?.id === upload.uploadId) file = committed
    else {
      const sha256 =
        running?.at === upload.received
          ? running.hash.digest('hex')
          : (await this.#files.uploadDigest(upload.uploadId)).sha256
      const contentType =
        upload.metadata.type || upload.metadata.filetype || upload.metadata.contentType
      file = await this.#files.commitUpload(upload.uploadId, {
        size: upload.received,
        sha256,
        contentType: contentType || 'application/octet-stream',
      })
    }
    await this.#meta.completeTusUpload(upload.id, file.id)
    this.#log.info(
      { client: upload.clientId, tus: upload.id, name: file.name, size: file.size },
      'tus upload completed',
    )
    return { upload: { ...upload, fileId: file.id }, completed: file }
  }

  /**
   * The running sha256 a PATCH of the upload goes on with: a copy (the PATCH may be refused),
   * a fresh one at offset 0, none when this process did not see the bytes before or for a part
   * (its final upload reads its bytes back).
   */
  #runningHash(upload: TusUploadRecord): Hash | undefined {
    if (upload.concat) return undefined
    if (upload.received === 0) return createHash('sha256')
    const running = this.#hashes.get(upload.id)
    return running?.at === upload.received ? running.hash.copy() : undefined
  }

  #remember(id: string, hash: Hash, at: number): void {
    this.#hashes.delete(id)
    this.#hashes.set(id, { hash, at })
    if (this.#hashes.size > MAX_RUNNING_HASHES) {
      const oldest = this.#hashes.keys().next().value
      if (oldest !== undefined) this.#hashes.delete(oldest)
    }
  }

  /** The upload's length once a PATCH's `Upload-Length` (ending a deferred one) is taken. */
  #lengthAfter(upload: TusUploadRecord, given: number | undefined): number | undefined {
    if (given === undefined) return upload.length
    if (upload.length !== undefined && upload.length !== given) {
      throw new TusError('E_TUS_REQUEST', `the upload's length is ${upload.length} already`)
    }
    if (given < upload.received) {
      throw new TusError(
        'E_TUS_REQUEST',
        `Upload-Length is less than the ${upload.received} bytes received`,
      )
    }
    this.#checkLength(given)
    return given
  }

  #checkLength(length: number): void {
    if (this.maxSize > 0 && length > this.maxSize) {
      throw new TusError(
        'E_TUS_TOO_LARGE',
        `an upload of ${length} bytes is larger than this server takes (${this.maxSize}, tusMaxSize)`,
      )
    }
  }
}

/** The file an upload becomes: metadata `name`, else `filename` (what Uppy and tus-js-client send). */
function nameOf(metadata: Record<string, string>): string {
  const name = metadata.name || metadata.filename
  if (!name) {
    throw new TusError(
      'E_TUS_REQUEST',
      'Upload-Metadata must give the file name (name or filename)',
    )
  }
  return checkFileName(name)
}

/** Reads a PATCH to a complete upload: an empty body is fine, a byte is one too many. */
async function refuseBytes(body: AsyncIterable<Uint8Array>, id: string): Promise<void> {
  for await (const piece of body) {
    if (piece.length > 0) {
      throw new TusError('E_TUS_TOO_LARGE', `upload ${id} is complete: it takes no more bytes`)
    }
  }
}

/**
 * The body until it ends or its connection is cut: a cut ends the stream normally (so the bytes
 * that arrived are stored) and is reported to `onCut`.
 */
async function* untilCut(
  body: AsyncIterable<Uint8Array>,
  onCut: (error: unknown) => void,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const piece of body) yield piece
  } catch (error) {
    onCut(error)
  }
}
