import { Counter, Histogram, type Registry } from '../telemetry/index.ts'
import type { BlobStore, ByteRange, PutOptions, PutResult, ReadOptions } from './blob-store.ts'

type Operation = 'put' | 'get' | 'read' | 'stat' | 'delete' | 'list'

/**
 * A blob store that counts what passes through it, for `/metrics`: every operation by adapter
 * and outcome with its duration (`piper_blob_operation_duration_seconds`; a streamed `get` until
 * its last piece), and the bytes written and read (`piper_blob_bytes_total`). Buffers pass
 * through untouched: who owns them is as for the store it wraps.
 */
export class MeteredBlobStore implements BlobStore {
  readonly #store: BlobStore
  readonly #durations: Histogram<'adapter' | 'operation' | 'outcome'>
  readonly #bytes: Counter<'adapter' | 'direction'>

  constructor(store: BlobStore, registry: Registry) {
    this.#store = store
    this.#durations =
      (registry.getSingleMetric('piper_blob_operation_duration_seconds') as
        | Histogram<'adapter' | 'operation' | 'outcome'>
        | undefined) ??
      new Histogram({
        name: 'piper_blob_operation_duration_seconds',
        help: 'Blob store operations by adapter, operation and outcome (ok, error), with their duration',
        labelNames: ['adapter', 'operation', 'outcome'],
        buckets: [0.0005, 0.002, 0.01, 0.05, 0.25, 1, 5, 30],
        registers: [registry],
      })
    this.#bytes =
      (registry.getSingleMetric('piper_blob_bytes_total') as
        | Counter<'adapter' | 'direction'>
        | undefined) ??
      new Counter({
        name: 'piper_blob_bytes_total',
        help: 'Bytes written to (in) and read from (out) the blob store, by adapter',
        labelNames: ['adapter', 'direction'],
        registers: [registry],
      })
  }

  get name(): string {
    return this.#store.name
  }

  get readAhead(): number | undefined {
    return this.#store.readAhead
  }

  start(): Promise<void> {
    return this.#store.start()
  }

  close(): Promise<void> {
    return this.#store.close()
  }

  put(
    key: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: PutOptions,
  ): Promise<PutResult> {
    const counted = source instanceof Uint8Array ? source : this.#counting(source, 'in')
    if (source instanceof Uint8Array) this.#add('in', source.length)
    return this.#timed('put', () => this.#store.put(key, counted, options))
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array>> {
    const stop = this.#durations.startTimer({ adapter: this.name, operation: 'get' })
    let pieces: AsyncIterable<Uint8Array>
    try {
      pieces = await this.#store.get(key, range)
    } catch (error) {
      stop({ outcome: 'error' })
      throw error
    }
    const self = this
    return (async function* () {
      let outcome = 'error'
      try {
        for await (const piece of pieces) {
          self.#add('out', piece.length)
          yield piece
        }
        outcome = 'ok'
      } finally {
        stop({ outcome })
      }
    })()
  }

  async read(key: string, options?: ReadOptions): Promise<Uint8Array> {
    const bytes = await this.#timed('read', () => this.#store.read(key, options))
    this.#add('out', bytes.length)
    return bytes
  }

  stat(key: string): Promise<{ size: number } | undefined> {
    return this.#timed('stat', () => this.#store.stat(key))
  }

  delete(key: string): Promise<boolean> {
    return this.#timed('delete', () => this.#store.delete(key))
  }

  list(prefix?: string): AsyncIterable<{ key: string; size: number; modified: Date }> {
    const stop = this.#durations.startTimer({ adapter: this.name, operation: 'list' })
    const listed = this.#store.list(prefix)
    return (async function* () {
      let outcome = 'error'
      try {
        yield* listed
        outcome = 'ok'
      } finally {
        stop({ outcome })
      }
    })()
  }

  async #timed<T>(operation: Operation, fn: () => Promise<T>): Promise<T> {
    const stop = this.#durations.startTimer({ adapter: this.name, operation })
    try {
      const value = await fn()
      stop({ outcome: 'ok' })
      return value
    } catch (error) {
      stop({ outcome: 'error' })
      throw error
    }
  }

  #add(direction: 'in' | 'out', bytes: number): void {
    this.#bytes.inc({ adapter: this.name, direction }, bytes)
  }

  async *#counting(source: AsyncIterable<Uint8Array>, direction: 'in'): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      this.#add(direction, piece.length)
      yield piece
    }
  }
}
