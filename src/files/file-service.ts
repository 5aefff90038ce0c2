import { createHash } from 'node:crypto'
import type { BlobStore, ByteRange } from '../blobs/index.ts'
import { type ChunkAnalysis, cutChunks, freeNow } from '../codec/index.ts'
import type {
  AddChunkOptions,
  ChunkInfo,
  ChunkLease,
  FileRecord,
  ListOptions,
  ManifestEntry,
  MetaStore,
  UploadSummary,
} from '../meta/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { NOT_MEASURED } from './chunk-analyzer.ts'
import { ChunkBuffers } from './chunk-buffers.ts'
import { analyzeChunk } from './chunker.ts'
import { FileError } from './errors.ts'
import { checkFileName } from './file-name.ts'
import { Pace } from './pace.ts'
import type { RunningDigest } from './running-digest.ts'
import { contentTypeOf, SNIFF_BYTES } from './sniff-image-type.ts'
import { readChunkVerified, readVerified, sha256Here } from './verified-chunks.ts'

/** Chunks up to this size are read whole when a download checks them off-thread. */
const WHOLE_CHUNK_READ = 16 << 20

export interface FileServiceOptions {
  blobs: BlobStore
  meta: MetaStore
  logger: Logger
  /** Bytes per chunk of new uploads. */
  chunkSize: number
  /** Chunks of one upload being hashed and stored at once; each holds `chunkSize` bytes. */
  chunksInFlight?: number
  /** Computes a chunk's sha256 and frequency table; pass a `CodecPool`'s to use its threads. */
  analyze?: (bytes: Uint8Array) => Promise<ChunkAnalysis>
  /**
   * The sha256 (hex) of a chunk read back, to check it against its key; off the calling
   * thread if it can be (the codec pool), so a download's hashing overlaps its sending.
   */
  hash?: (bytes: Uint8Array) => Promise<string>
}

export interface PutOptions {
  /** What the client said; when it said nothing useful, an image's type is read from its bytes. */
  contentType?: string
  /** Refuse bodies longer than this with `E_UPLOAD_TOO_LARGE`. */
  maxBytes?: number
}

export interface StoreChunkOptions extends AddChunkOptions {
  /**
   * Called once the blob store has taken the bytes (written, not yet synced, or found stored
   * already), after which the caller may reuse their buffer. Not called if storing fails first.
   */
  onTaken?: () => void
  /**
   * Hash the chunk for its key only, without the analyses made for uploads (its byte
   * histogram): a job's output is not what a job reads next as often as an upload is, and
   * a chunk without a histogram is measured when a job needs one.
   */
  keyOnly?: boolean
  /**
   * The bytes' sha256 (hex), when the caller computed it already (the codec pool does while it
   * encodes): the chunk is stored under it unhashed, as with `keyOnly`, without a histogram.
   */
  sha256?: string
}

/**
 * Files of clients, stored as content-addressed chunks in the blob store with manifests in the
 * metadata store. Uploads stream with bounded memory and become visible only when complete;
 * chunks are stored once however many files use them and freed when the last one goes.
 */
export class FileService {
  readonly #blobs: BlobStore
  readonly #meta: MetaStore
  readonly #log: Logger
  readonly chunkSize: number
  readonly #inFlight: number
  readonly #analyze: (bytes: Uint8Array) => Promise<ChunkAnalysis>
  readonly #hash: ((bytes: Uint8Array) => Promise<string>) | undefined
  readonly #buffers: ChunkBuffers

  constructor(options: FileServiceOptions) {
    this.#blobs = options.blobs
    this.#meta = options.meta
    this.#log = options.logger.child({ component: 'files' })
    this.chunkSize = options.chunkSize
    this.#inFlight = options.chunksInFlight ?? 4
    this.#analyze = options.analyze ?? analyzeChunk
    this.#hash = options.hash
    this.#buffers = new ChunkBuffers(this.chunkSize, 2 * this.#inFlight)
  }

  /** Stores `body` as `name` for the client, replacing any file of that name, atomically. */
  async put(
    clientId: string,
    name: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<FileRecord> {
    checkFileName(name)
    const head = await headOrAll(body, this.chunkSize)
    if (head.all) return this.#putOneChunk(clientId, name, head.all, options)
    return this.#putChunks(clientId, name, head.rest, options)
  }

  /**
   * A body of at most one chunk (most files of a pipeline, thumbnails, small uploads): its blob,
   * then the file in one transaction, with no upload to begin and commit — three commits fewer.
   * Under the chunk's lock, so a concurrent free of the same bytes cannot delete the blob
   * before the file references it. A crash between the two leaves an unreferenced blob, which
   * the garbage collector deletes (an orphan blob).
   */
  async #putOneChunk(
    clientId: string,
    name: string,
    bytes: Uint8Array,
    options: PutOptions,
  ): Promise<FileRecord> {
    if (options.maxBytes !== undefined && bytes.length > options.maxBytes) {
      throw tooLarge(options.maxBytes)
    }
    const contentType = contentTypeOf(options.contentType, bytes.subarray(0, SNIFF_BYTES))
    const { sha256: key, histogram: frequencies } =
      bytes.length === 0
        ? { sha256: EMPTY_SHA256, histogram: NOT_MEASURED }
        : await this.#analyze(bytes)
    const chunk = bytes.length === 0 ? undefined : { key, size: bytes.length, frequencies }
    // One chunk: the file's sha256 is its key.
    const summary = { size: bytes.length, sha256: key, contentType }
    const { file } = (await this.commitOneChunk(chunk, bytes, (lease) =>
      this.#meta.putFile(clientId, name, chunk, summary, lease),
    ))!
    return this.#stored(file)
  }

  /**
   * Stores a chunk's blob (none for no chunk: an empty file), then runs `commit`, a transaction
   * that references the chunk, and frees what it released (a file it replaced). Under the
   * chunk's lock, so a concurrent free of the same bytes cannot delete the blob before the row
   * references it. When `commit` commits nothing (resolves undefined) or throws, a blob stored
   * just now is deleted; a crash between the two leaves an unreferenced blob, which the garbage
   * collector deletes. The caller keeps `bytes`. `commit` is handed the lock's lease, if it is
   * one, to release in its transaction (`HeldChunkLock.lease`).
   */
  async commitOneChunk<T extends { released: string[] }>(
    chunk: ChunkInfo | undefined,
    bytes: Uint8Array,
    commit: (lease?: ChunkLease) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const committed = chunk
      ? await this.#meta.withChunkLock(chunk.key, async (held) =>
          this.#putThen(chunk.key, bytes, () => commit(held.lease), await held.stored()),
        )
      : await commit()
    if (committed) await this.free(committed.released)
    return committed
  }

  async #putThen<T>(
    key: string,
    bytes: Uint8Array,
    commit: () => Promise<T | undefined>,
    stored: boolean,
  ) {
    const fresh = !stored
    const put = { expectedSize: bytes.length, sha256: key, fresh }
    const { created } = await this.#blobs.put(key, bytes, put)
    const dropNew = async () => {
      if (created && fresh) await this.#blobs.delete(key).catch(() => {})
    }
    try {
      const done = await commit()
      if (!done) await dropNew()
      return done
    } catch (error) {
      await dropNew()
      throw error
    }
  }

  #stored(file: FileRecord): FileRecord {
    const { id, clientId: client, name, size, chunkCount: chunks } = file
    this.#log.info({ file: id, client, name, size, chunks }, 'file stored')
    return file
  }

  /** A body of several chunks, stored as an upload as they arrive, then committed. */
  async #putChunks(
    clientId: string,
    name: string,
    body: AsyncIterable<Uint8Array>,
    options: PutOptions,
  ): Promise<FileRecord> {
    const uploadId = await this.#meta.beginUpload(clientId, name)
    const log = this.#log.child({ upload: uploadId })
    const fileHash = createHash('sha256')
    let size = 0
    let head: Uint8Array = new Uint8Array(0)
    try {
      await this.appendStream(uploadId, 0, body, (piece) => {
        if (head.length < SNIFF_BYTES) head = headOf(head, piece)
        size += piece.length
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw tooLarge(options.maxBytes)
        }
        fileHash.update(piece)
      })
      const { file, released } = await this.#meta.commitUpload(uploadId, {
        size,
        sha256: fileHash.digest('hex'),
        contentType: contentTypeOf(options.contentType, head),
      })
      await this.free(released)
      return this.#stored(file)
    } catch (error) {
      await this.abortUpload(uploadId).catch((abortError: unknown) => {
        log.warn({ err: abortError }, 'could not abort upload; garbage collection will')
      })
      throw error
    }
  }

  /**
   * Cuts `body` into chunks of `chunkSize` (the last may be shorter) and stores them in the
   * upload from position `firstSeq` on, `chunksInFlight` at a time; `onBytes` sees every piece
   * in order first and may throw to stop. The chunks are durable with the next durable commit
   * of the metadata (the upload's commit). Resolves with the number of chunks once all are
   * stored; on failure, after every chunk begun has settled (the caller aborts or truncates).
   */
  async appendStream(
    uploadId: string,
    firstSeq: number,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    onBytes: (piece: Uint8Array) => void,
  ): Promise<number> {
    // Chunks whose buffers the blob store has not yet taken (they bound memory), and chunks not
    // yet durable (a write is taken long before its fsync ends; they hold no buffer).
    const holding = new Set<Promise<void>>()
    const pending = new Set<Promise<void>>()
    let failure: unknown
    let seq = firstSeq
    try {
      const buffers = this.#buffers
      for await (const chunk of cutChunks(body, this.chunkSize, onBytes, () => buffers.take())) {
        const taken = Promise.withResolvers<void>()
        let given = false
        const give = () => {
          if (given) return
          given = true
          buffers.give(chunk)
          taken.resolve()
        }
        const stored = this.storeChunk(uploadId, seq++, chunk, { durable: false, onTaken: give })
          .then(() => {})
          .catch((error: unknown) => {
            failure ??= error
          })
          .finally(give)
        track(holding, taken.promise)
        track(pending, stored)
        if (holding.size >= this.#inFlight) await Promise.race(holding)
        if (pending.size >= 4 * this.#inFlight) await Promise.race(pending)
        if (failure) throw failure
      }
      await Promise.all(pending)
      if (failure) throw failure
      return seq - firstSeq
    } catch (error) {
      await Promise.allSettled(pending)
      throw error
    }
  }

  /** The client's file, or `E_FILE_NOT_FOUND`. */
  async stat(clientId: string, name: string): Promise<FileRecord> {
    const file = await this.#meta.getFile(clientId, checkFileName(name))
    if (!file) throw new FileError('E_FILE_NOT_FOUND', `no file named ${JSON.stringify(name)}`)
    return file
  }

  /** Which chunk holds which bytes of the file, in order. */
  manifest(file: FileRecord): Promise<ManifestEntry[]> {
    return this.#meta.manifest(file.id)
  }

  /** `stat` and `manifest` at once (one statement): for a reader that wants both. */
  async statWithManifest(
    clientId: string,
    name: string,
  ): Promise<{ file: FileRecord; manifest: ManifestEntry[] }> {
    const found = await this.#meta.fileWithManifest(clientId, checkFileName(name))
    if (!found) throw new FileError('E_FILE_NOT_FOUND', `no file named ${JSON.stringify(name)}`)
    return found
  }

  /** Streams the file's bytes, or the inclusive `range` of them, chunk after chunk. */
  async *read(file: FileRecord, range?: ByteRange): AsyncGenerator<Uint8Array> {
    const start = range?.start ?? 0
    const end = range?.end ?? file.size - 1
    if (start < 0 || end >= file.size || (file.size > 0 && start > end)) {
      throw new FileError(
        'E_RANGE',
        `bytes ${start}-${end} are outside the file (${file.size} bytes)`,
      )
    }
    const parts: { key: string; size: number; range: ByteRange }[] = []
    for (const entry of await this.#meta.manifest(file.id)) {
      const last = entry.offset + entry.size - 1
      if (last < start || entry.offset > end) continue
      const from = Math.max(start, entry.offset) - entry.offset
      const to = Math.min(end, last) - entry.offset
      parts.push({ key: entry.key, size: entry.size, range: { start: from, end: to } })
    }
    // Every chunk is checked against its key before its last byte goes out. With an off-thread
    // hash, a chunk is read whole and hashed while the one before it is sent (one chunk ahead):
    // on this thread, hashing 256 KiB pieces as they passed held downloads to ~490 MB/s
    // (~750-900 without). Very large chunks stream through a hash here instead.
    const hash = this.#hash
    const ahead = (i: number) => {
      const part = parts[i]
      if (!part || !hash || part.size > WHOLE_CHUNK_READ) return undefined
      const { start, end } = part.range
      const read = readChunkVerified(this.#blobs, part.key, hash).then((bytes) =>
        bytes.subarray(start, end + 1),
      )
      read.catch(() => {}) // awaited in turn; a download given up leaves it unawaited
      return read
    }
    // Chunks fetched ahead: one on a local disk, several across a network (`readAhead`).
    const depth = Math.max(1, this.#blobs.readAhead ?? 1)
    const queued: (Promise<Uint8Array> | undefined)[] = []
    for (let i = 0; i < depth; i++) queued.push(ahead(i))
    for (let i = 0; i < parts.length; i++) {
      const current = queued.shift()
      queued.push(ahead(i + depth))
      const part = parts[i]!
      if (current) yield await current
      else {
        const whole = part.range.start === 0 && part.range.end === part.size - 1
        yield* readVerified(this.#blobs, part.key, whole ? undefined : part.range)
      }
    }
  }

  /**
   * Records that `bytes` of the file were sent to its client (a `download` event, which the
   * usage statistics count). Without an fsync of its own: a power cut may lose the last few,
   * never count one twice.
   */
  noteDownload(file: FileRecord, bytes: number): Promise<void> {
    return this.#meta.addJobEvent(
      {
        clientId: file.clientId,
        jobId: file.id,
        type: 'download',
        data: { name: file.name, bytes },
      },
      { durable: false },
    )
  }

  list(clientId: string, options: ListOptions): Promise<FileRecord[]> {
    return this.#meta.listFiles(clientId, options)
  }

  async delete(clientId: string, name: string): Promise<FileRecord> {
    const deleted = await this.#meta.deleteFile(clientId, checkFileName(name))
    if (!deleted) throw new FileError('E_FILE_NOT_FOUND', `no file named ${JSON.stringify(name)}`)
    await this.free(deleted.released)
    return deleted.file
  }

  /**
   * Frees what crashes and cut-off uploads left: uploads untouched for `staleUploadMs`, chunks
   * whose count reached zero before their free ran, and blobs older than `orphanBlobMs` that
   * no chunk row names (a crash between the row's delete and the blob's).
   */
  async collectGarbage(options: {
    staleUploadMs: number
    orphanBlobMs: number
    /** Only blobs whose keys start with one of these (a slice of the store); default all. */
    prefixes?: readonly string[]
    /** The most orphan checks (one query each) per second. */
    checksPerSecond?: number
    signal?: AbortSignal
  }) {
    let uploads = 0
    let chunksFreed = 0
    for (const id of await this.#meta.staleUploads(Date.now() - options.staleUploadMs)) {
      chunksFreed += await this.abortUpload(id)
      uploads++
    }
    for (let batch = await this.#meta.unreferencedChunks(500); batch.length > 0; ) {
      chunksFreed += await this.free(batch)
      const next = await this.#meta.unreferencedChunks(500)
      batch = next.some((key) => batch.includes(key)) ? [] : next
    }
    let blobs = 0
    const cutoff = Date.now() - options.orphanBlobMs
    const pace = new Pace(options.checksPerSecond ?? Number.POSITIVE_INFINITY)
    for (const prefix of options.prefixes ?? ['']) {
      for await (const blob of this.#blobs.list(prefix)) {
        if (options.signal?.aborted) break
        if (blob.modified.getTime() >= cutoff) continue
        await pace.spend(1, options.signal)
        const deleted = await this.#meta.withChunkLock(blob.key, async (held) =>
          (await held.stored()) ? false : this.#blobs.delete(blob.key),
        )
        if (deleted) blobs++
      }
    }
    if (uploads + chunksFreed + blobs > 0) {
      this.#log.info({ uploads, chunks: chunksFreed, blobs }, 'garbage collected')
    }
    return { uploads, chunks: chunksFreed, blobs }
  }

  /**
   * Starts an upload assembled piece by piece (a job's output): chunks arrive with
   * `storeChunk` in any order, and the upload becomes a file only when committed.
   */
  beginUpload(clientId: string, name: string): Promise<string> {
    return this.#meta.beginUpload(clientId, checkFileName(name))
  }

  /**
   * References the chunk for the upload at `seq`, then stores it unless stored. Under the
   * chunk's lock, so a concurrent free of the same key (its last file deleted) cannot delete
   * the blob between our reference and our use of it. Storing the same bytes at the same
   * position again changes nothing. The blob is durable when this resolves; the reference is
   * durable too unless `options.durable` is false.
   */
  async storeChunk(
    uploadId: string,
    seq: number,
    bytes: Uint8Array,
    options: StoreChunkOptions = {},
  ): Promise<string> {
    const { sha256: key, histogram: frequencies } = options.sha256
      ? { sha256: options.sha256, histogram: NOT_MEASURED }
      : options.keyOnly
        ? { sha256: await (this.#hash ?? sha256Here)(bytes), histogram: NOT_MEASURED }
        : await this.#analyze(bytes)
    const size = bytes.length
    await this.#meta.withChunkLock(key, async () => {
      const { first } = await this.#meta.addUploadChunk(
        uploadId,
        seq,
        { key, size, frequencies },
        options,
      )
      const source = options.onTaken ? handOver(bytes, options.onTaken) : bytes
      await this.#blobs.put(key, source, { expectedSize: size, sha256: key, fresh: first })
    })
    return key
  }

  /** Makes an assembled upload the file under its name (replacing any) and frees what it replaced. */
  async commitUpload(uploadId: string, summary: UploadSummary): Promise<FileRecord> {
    const { file, released } = await this.#meta.commitUpload(uploadId, summary)
    await this.free(released)
    return file
  }

  /**
   * The size and sha256 of an assembled upload, reading its chunks in order — after those
   * `from` hashed already, when the upload begins with them (`from` is used up).
   */
  async uploadDigest(
    uploadId: string,
    from?: RunningDigest,
  ): Promise<{ size: number; sha256: string }> {
    const chunks = await this.#meta.uploadChunks(uploadId)
    // One chunk: the file's sha256 is its key (a chunk is stored under the sha256 of its bytes).
    if (chunks.length === 1) return { size: chunks[0]!.size, sha256: chunks[0]!.key }
    const hashed = from?.begins(chunks) ? from : undefined
    const hash = hashed?.hash ?? createHash('sha256')
    let size = hashed?.size ?? 0
    for (const chunk of chunks.slice(hashed?.keys.length ?? 0)) {
      const bytes = await readChunkVerified(this.#blobs, chunk.key)
      hash.update(bytes)
      size += bytes.length
      freeNow(bytes)
    }
    return { size, sha256: hash.digest('hex') }
  }

  /** Forgets the upload and frees the chunks only it used; the number freed. */
  async abortUpload(uploadId: string): Promise<number> {
    return this.free(await this.#meta.abortUpload(uploadId))
  }

  /** Deletes each chunk that is still unreferenced, row then blob, under its lock. */
  async free(keys: readonly string[]): Promise<number> {
    let freed = 0
    for (const key of keys) {
      await this.#meta.withChunkLock(key, async () => {
        if (await this.#meta.dropChunk(key)) {
          await this.#blobs.delete(key)
          freed++
        }
      })
    }
    return freed
  }
}

/** The sha256 (hex) of no bytes: an empty file's, and the key of an empty chunk. */
export const EMPTY_SHA256 = createHash('sha256').digest('hex')

function tooLarge(maxBytes: number): FileError {
  return new FileError('E_UPLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`)
}

/**
 * Reads `body` until it has ended or passed `limit` bytes: `all` holds the whole body when it
 * ended within the limit; otherwise `rest` yields it from its start. Pieces are copied as they
 * come (a producer may reuse its buffer once asked for the next piece).
 */
async function headOrAll(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limit: number,
): Promise<
  { all: Uint8Array; rest?: undefined } | { all?: undefined; rest: AsyncIterable<Uint8Array> }
> {
  const iterator =
    Symbol.asyncIterator in body ? body[Symbol.asyncIterator]() : body[Symbol.iterator]()
  const held: Uint8Array[] = []
  let size = 0
  for (;;) {
    const next = await iterator.next()
    if (next.done) return { all: held.length === 1 ? held[0]! : Buffer.concat(held, size) }
    size += next.value.length
    if (size > limit) return { rest: resumed(held, next.value, iterator) }
    held.push(Uint8Array.prototype.slice.call(next.value))
  }
}

/** The pieces read ahead, the one that passed the limit, then the rest of the body. */
async function* resumed(
  held: Uint8Array[],
  last: Uint8Array,
  iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  try {
    yield* held
    held.length = 0
    yield last
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      yield next.value
    }
  } finally {
    await iterator.return?.()
  }
}

/** `bytes` as a one-piece stream whose consumer, asking for more, says it is done with them. */
async function* handOver(bytes: Uint8Array, onTaken: () => void): AsyncGenerator<Uint8Array> {
  yield bytes
  onTaken()
}

/** Keeps `promise` in `set` until it settles. */
function track(set: Set<Promise<void>>, promise: Promise<void>): void {
  set.add(promise)
  promise.finally(() => set.delete(promise))
}

/** The first `SNIFF_BYTES` of a body, from what was kept so far and the next piece (copied). */
function headOf(head: Uint8Array, piece: Uint8Array): Uint8Array {
  const next = new Uint8Array(Math.min(SNIFF_BYTES, head.length + piece.length))
  next.set(head)
  next.set(piece.subarray(0, next.length - head.length), head.length)
  return next
}
