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
  /** Settles with the task: `close()` waits on it. */
  done: Promise<Uint8Array | ChunkAnalysis>
}

/**
 * Tasks posted to one worker ahead of its answers: one running and one waiting in its port, so
 * a worker that finishes starts the next task at once instead of waiting for the calling thread
 * to be scheduled (with as many workers as cores, workers sat idle a tenth of a decode).
 */
const TASKS_PER_WORKER = 2

/**
 * A fixed set of worker threads running `encodeChunk` and `decodeMember`. Tasks queue when all
 * workers are busy; callers bound how many they submit (the streams keep a few per thread).
 * A worker that dies is replaced and the tasks it held fail.
 */
export class CodecPool {
  readonly size: number
  /** Every live worker, with the tasks posted to it in the order it answers them. */
  readonly #posted = new Map<Worker, Pending[]>()
  readonly #queue: Pending[] = []
  #nextId = 0
  #closed = false
  #drained: Promise<void> | undefined

  constructor(size = availableParallelism()) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be ≥ 1, got ${size}`)
    this.size = size
    for (let i = 0; i < size; i++) this.#spawn()
  }

  /** Tasks the workers run or hold ready at once; more wait on the calling thread. */
  get capacity(): number {
    return this.size * TASKS_PER_WORKER
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

  /**
   * Fails queued tasks, lets the ones already posted to a worker finish, and stops the
   * threads. Idempotent.
   */
  close(): Promise<void> {
    if (this.#drained) return this.#drained
    this.#closed = true
    for (const task of this.#queue.splice(0)) task.reject(new Error('codec pool closed'))
    const settled = [...this.#posted.values()].flat().map((task) => task.done.catch(() => {}))
    this.#drained = Promise.all(settled).then(async () => {
      const workers = [...this.#posted.keys()]
      this.#posted.clear()
      await Promise.all(workers.map((w) => w.terminate()))
    })
    return this.#drained
  }

  #submit(request: PoolRequest, handOver: HandOver = {}): Promise<Uint8Array | ChunkAnalysis> {
    if (this.#closed) return Promise.reject(new Error('codec pool closed'))
    let resolve!: Pending['resolve']
    let reject!: Pending['reject']
    const done = new Promise<Uint8Array | ChunkAnalysis>((res, rej) => {
      resolve = res
      reject = rej
    })
    this.#queue.push({ request, transfer: handOver.transfer === true, resolve, reject, done })
    this.#dispatch()
    return done
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      // The least loaded worker: an idle one first, a second task only when none is idle.
      let worker: Worker | undefined
      let load = TASKS_PER_WORKER
      for (const [candidate, tasks] of this.#posted) {
        if (tasks.length < load) {
          worker = candidate
          load = tasks.length
        }
      }
      if (!worker) return
      const task = this.#queue.shift()!
      this.#posted.get(worker)!.push(task)
      // A busy worker keeps the process alive until its result arrives; an idle one does not.
      worker.ref()
      this.#post(worker, task)
    }
  }

  #post(worker: Worker, task: Pending): void {
    const { bytes } = task.request
    if (bytes.buffer instanceof SharedArrayBuffer) {
      // Shared memory crosses without a copy; the caller keeps it unchanged until we answer.
      worker.postMessage(task.request)
      return
    }
    // Cloning a view would copy its whole backing buffer (structured clone does), and
    // transferring the caller's would detach it: unless the caller gave it up, send an exact
    // copy, transferred. (Not .slice(): on a Buffer that is a view.)
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    const copy = task.transfer && whole ? bytes : new Uint8Array(bytes)
    worker.postMessage({ ...task.request, bytes: copy }, [copy.buffer as ArrayBuffer])
  }

  #spawn(): void {
    const worker = new Worker(new URL('./pool-worker.ts', import.meta.url))
    worker.unref()
    this.#posted.set(worker, [])
    let failure: Error | undefined
    worker.on('message', (response: PoolResponse) => {
      const tasks = this.#posted.get(worker)
      // A worker answers its tasks in the order they were posted.
      const task = tasks?.shift()
      if (tasks?.length === 0) worker.unref()
      if (task) {
        if ('result' in response) task.resolve(response.result)
        else task.reject(revive(response.error))
      }
      this.#dispatch()
    })
    worker.on('error', (error) => {
      failure = error
    })
    worker.on('exit', (code) => {
      const tasks = this.#posted.get(worker)
      if (!tasks) return // terminated by close()
      this.#posted.delete(worker)
      const reason = failure ?? new Error(`codec worker exited with code ${code}`)
      for (const task of tasks) task.reject(reason)
      if (!this.#closed) {
        this.#spawn()
        this.#dispatch()
      }
    })
  }
}

function revive(error: Extract<PoolResponse, { error: unknown }>['error']): Error {
  if (error.code === undefined) return new Error(error.message)
  // The worker's message already names member and offset; keep them as fields too.
  const revived = new CodecError(error.code, error.message)
  Object.assign(revived, { member: error.member, offset: error.offset })
  return revived
}
