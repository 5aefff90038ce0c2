import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { DecodeOptions } from './decode-member.ts'
import { CodecError, type CodecErrorCode } from './errors.ts'

export type PoolRequest =
  | { id: number; op: 'encode'; bytes: Uint8Array; histogram: Uint32Array | undefined }
  | { id: number; op: 'decode'; bytes: Uint8Array; decode: DecodeOptions }
  | { id: number; op: 'analyze'; bytes: Uint8Array }

/** What `analyze` finds in a chunk: its sha256 (hex) and 256-entry byte-frequency table. */
export interface ChunkAnalysis {
  sha256: string
  histogram: Uint32Array
}

export type PoolResponse =
  | { id: number; result: Uint8Array | ChunkAnalysis }
  | {
      id: number
      error: {
        code: CodecErrorCode | undefined
        message: string
        member: number | undefined
        offset: number | undefined
      }
    }

/** `transfer`: the caller gives its buffer up, so it crosses to the worker without a copy. */
export interface HandOver {
  transfer?: boolean
}

interface Pending {
  request: PoolRequest
  transfer: boolean
  resolve: (result: Uint8Array | ChunkAnalysis) => void
  reject: (error: Error) => void
}

/**
 * A fixed set of worker threads running `encodeChunk` and `decodeMember`. Tasks queue when all
 * workers are busy; callers bound how many they submit (the streams keep a few per thread).
 * A worker that dies is replaced and its task fails.
 */
export class CodecPool {
  readonly size: number
  readonly #idle: Worker[] = []
  readonly #busy = new Map<Worker, Pending>()
  readonly #queue: Pending[] = []
  #nextId = 0
  #closed = false

  constructor(size = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be ≥ 1, got ${size}`)
    this.size = size
    for (let i = 0; i < size; i++) this.#idle.push(this.#spawn())
  }

  /** `encodeChunk` on a worker. With `transfer`, `bytes` is detached (when it spans its whole buffer). */
  encode(bytes: Uint8Array, histogram?: Uint32Array, handOver: HandOver = {}): Promise<Uint8Array> {
    const request: PoolRequest = { id: this.#nextId++, op: 'encode', bytes, histogram }
    return this.#submit(request, handOver) as Promise<Uint8Array>
  }

  /** `decodeMember` on a worker. With `transfer`, `bytes` is detached (when it spans its whole buffer). */
  decode(
    bytes: Uint8Array,
    options: DecodeOptions = {},
    handOver: HandOver = {},
  ): Promise<Uint8Array> {
    const request: PoolRequest = { id: this.#nextId++, op: 'decode', bytes, decode: options }
    return this.#submit(request, handOver) as Promise<Uint8Array>
  }

  /** The chunk's sha256 and byte-frequency table, computed off the calling thread. */
  analyze(bytes: Uint8Array): Promise<ChunkAnalysis> {
    return this.#submit({ id: this.#nextId++, op: 'analyze', bytes }) as Promise<ChunkAnalysis>
  }

  /** Fails queued tasks, lets running ones finish, and stops the threads. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const task of this.#queue.splice(0)) task.reject(new Error('codec pool closed'))
    const workers = [...this.#idle, ...this.#busy.keys()]
    this.#idle.length = 0
    await Promise.all(workers.map((w) => w.terminate()))
  }

  #submit(request: PoolRequest, handOver: HandOver = {}): Promise<Uint8Array | ChunkAnalysis> {
    if (this.#closed) return Promise.reject(new Error('codec pool closed'))
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, transfer: handOver.transfer === true, resolve, reject })
      this.#dispatch()
    })
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop()!
      const task = this.#queue.shift()!
      this.#busy.set(worker, task)
      // A busy worker keeps the process alive until its result arrives; an idle one does not.
      worker.ref()
      const { bytes } = task.request
      if (bytes.buffer instanceof SharedArrayBuffer) {
        // Shared memory crosses without a copy; the caller keeps it unchanged until we answer.
        worker.postMessage(task.request)
        continue
      }
      // Cloning a view would copy its whole backing buffer (structured clone does), and
      // transferring the caller's would detach it: unless the caller gave it up, send an exact
      // copy, transferred. (Not .slice(): on a Buffer that is a view.)
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      const copy = task.transfer && whole ? bytes : new Uint8Array(bytes)
      worker.postMessage({ ...task.request, bytes: copy }, [copy.buffer as ArrayBuffer])
    }
  }

  #spawn(): Worker {
    const worker = new Worker(new URL('./pool-worker.ts', import.meta.url))
    worker.unref()
    worker.on('message', (response: PoolResponse) => {
      const task = this.#busy.get(worker)
      this.#busy.delete(worker)
      worker.unref()
      if (!this.#closed) this.#idle.push(worker)
      if (task) {
        if ('result' in response) task.resolve(response.result)
        else task.reject(revive(response.error))
      }
      this.#dispatch()
    })
    worker.on('error', (error) => {
      const task = this.#busy.get(worker)
      this.#busy.delete(worker)
      task?.reject(error)
      if (!this.#closed) {
        this.#idle.push(this.#spawn())
        this.#dispatch()
      }
    })
    return worker
  }
}

function revive(error: Extract<PoolResponse, { error: unknown }>['error']): Error {
  if (error.code === undefined) return new Error(error.message)
  // The worker's message already names member and offset; keep them as fields too.
  const revived = new CodecError(error.code, error.message)
  Object.assign(revived, { member: error.member, offset: error.offset })
  return revived
}
