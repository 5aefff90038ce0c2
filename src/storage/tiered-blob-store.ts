import {
  BlobError,
  type BlobStore,
  type ByteRange,
  type PutOptions,
  type PutResult,
  type ReadOptions,
} from '../blobs/index.ts'
import type { Logger } from '../telemetry/index.ts'

export interface TieredBlobStoreOptions {
  /** Where uploads land: a local disk, at its speed. */
  staging: BlobStore
  /** Where blobs end up (storage nodes, S3). */
  longTerm: BlobStore
  logger?: Logger
  /** Pause between distribution passes (default 5 s); 0: only when `distribute()` is called. */
  distributeEveryMs?: number
}

/**
 * The seed's two-tier flow: blobs are put on a fast staging store and moved to the long-term
 * store afterwards (`distribute`), each staging copy deleted only once its long-term copy is
 * stored (durable, hash-checked where the store checks). Reads look in staging first, then long
 * term, so a blob is readable in one tier or the other at every moment.
 */
export class TieredBlobStore implements BlobStore {
  readonly name: string
  readonly readAhead: number
  readonly #staging: BlobStore
  readonly #longTerm: BlobStore
  readonly #log: Logger | undefined
  readonly #everyMs: number
  #timer: NodeJS.Timeout | undefined
  #passing: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(options: TieredBlobStoreOptions) {
    this.#staging = options.staging
    this.#longTerm = options.longTerm
    this.#log = options.logger?.child({ component: 'tiered-blob-store' })
    this.#everyMs = options.distributeEveryMs ?? 5000
    this.name = `${options.staging.name}+${options.longTerm.name}`
    this.readAhead = Math.max(options.staging.readAhead ?? 1, options.longTerm.readAhead ?? 1)
  }

  /** The store blobs end up in. */
  get longTerm(): BlobStore {
    return this.#longTerm
  }

  async start(): Promise<void> {
    await this.#staging.start()
    await this.#longTerm.start()
    if (this.#everyMs > 0) {
      this.#timer = setInterval(() => {
        this.#passing = this.#passing
          .then(() => this.distribute())
          .catch((error: unknown) =>
            this.#log?.warn({ err: error }, 'distribution failed; the next pass retries'),
          )
      }, this.#everyMs)
      this.#timer.unref()
    }
  }

  put(
    key: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: PutOptions,
  ): Promise<PutResult> {
    return this.#staging.put(key, source, options)
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array>> {
    return this.#either((store) => store.get(key, range))
  }

  async read(key: string, options?: ReadOptions): Promise<Uint8Array> {
    return this.#either((store) => store.read(key, options))
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    return (await this.#staging.stat(key)) ?? (await this.#longTerm.stat(key))
  }

  async delete(key: string): Promise<boolean> {
    const [staged, kept] = await Promise.all([
      this.#staging.delete(key),
      this.#longTerm.delete(key),
    ])
    return staged || kept
  }

  async *list(prefix?: string): AsyncIterable<{ key: string; size: number; modified: Date }> {
    const seen = new Set<string>()
    for (const store of [this.#staging, this.#longTerm]) {
      for await (const blob of store.list(prefix)) {
        if (seen.has(blob.key)) continue
        seen.add(blob.key)
        yield blob
      }
    }
  }

  /**
   * Moves every staged blob to long-term storage: read, stored there, then deleted from staging.
   * A blob that fails stays staged for the next pass.
   */
  async distribute(): Promise<{ moved: number; bytes: number; failed: number }> {
    const totals = { moved: 0, bytes: 0, failed: 0 }
    for await (const blob of this.#staging.list()) {
      if (this.#closed) break
      try {
        const bytes = await this.#staging.read(blob.key)
        await this.#longTerm.put(blob.key, bytes, {
          expectedSize: bytes.length,
          ...(/^[0-9a-f]{64}$/.test(blob.key) ? { sha256: blob.key } : {}),
        })
        await this.#staging.delete(blob.key)
        totals.moved++
        totals.bytes += bytes.length
      } catch (error) {
        // Deleted meanwhile (garbage collected): nothing to move.
        if ((error as BlobError).code === 'E_BLOB_NOT_FOUND') continue
        totals.failed++
        this.#log?.warn(
          { err: error, key: blob.key },
          'a staged blob could not be distributed; it stays staged',
        )
      }
    }
    if (totals.moved > 0) this.#log?.info(totals, 'staged blobs distributed')
    return totals
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    await this.#passing.catch(() => {})
    await this.#staging.close()
    await this.#longTerm.close()
  }

  /** The staging copy if there is one, else the long-term one. */
  async #either<T>(use: (store: BlobStore) => Promise<T>): Promise<T> {
    try {
      return await use(this.#staging)
    } catch (error) {
      if (!(error instanceof BlobError) || error.code !== 'E_BLOB_NOT_FOUND') throw error
      return use(this.#longTerm)
    }
  }
}
