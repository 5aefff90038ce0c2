import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { analyzeHere, type ChunkAnalysis, sha256Hex } from './chunk-analysis.ts'
import type { DecodeOptions } from './decode-member.ts'
import { CodecError, type CodecErrorCode } from './errors.ts'
import { SpareBuffers, spareSize } from './spare-buffers.ts'

/**
 * Chunks up to this size are hashed and counted on the calling thread: a round trip to a
 * worker cost ~56 µs of CPU (post, wake, answer, wake; a 4 KiB sha256, 16 at once, on the
 * 2-core machine this was measured on), more than the sha256 and histogram of 32 KiB take
 * here (~44 µs; ~14 µs for 4 KiB), and the calling thread waited on the hop anyway.
 */
export const INLINE_BYTES = 32 * 1024

/**
 * `lent`: `bytes` lies in a buffer the pool lent, which the worker sends back with its answer.
 * `spare`: memory a caller gave back, for the worker to write results into.
 */
export type PoolRequest = (
  | {
      id: number
      op: 'encode'
      bytes: Uint8Array
      histogram: Uint32Array | undefined
      /** Answer a `HashedMember`: the input's sha256 and the member's besides the member. */
      hash?: boolean
    }
  | { id: number; op: 'decode'; bytes: Uint8Array; decode: DecodeOptions }
  | { id: number; op: 'analyze'; bytes: Uint8Array }
  | { id: number; op: 'sha256'; bytes: Uint8Array }
) & { lent?: boolean; spare?: ArrayBuffer }

/** An encoded member with the sha256 (hex) of the chunk it was made of and of itself. */
export interface HashedMember {
  member: Uint8Array
  inputSha256: string
  memberSha256: string
}

/** A decoded or encoded member, a chunk's analysis, or a sha256 in hex. */
type TaskResult = Uint8Array | HashedMember | ChunkAnalysis | string

export type PoolResponse = (
  | { id: number; result: TaskResult }
  | {
      id: number
      error: {
        code: CodecErrorCode | undefined
        message: string
        member: number | undefined
        offset: number | undefined
      }
    }
) & { lent?: ArrayBuffer }

/** `transfer`: the caller gives its buffer up, so it crosses to the worker without a copy. */
export interface HandOver {
  transfer?: boolean
}

interface Pending {
  request: PoolRequest
  transfer: boolean
  resolve: (result: TaskResult) => void
  reject: (error: Error) => void
  /** Settles with the task: `close()` waits on it. */
  done: Promise<TaskResult>
}

/**
 * Tasks posted to one worker ahead of its answers: one running and one waiting in its port, so
 * a worker that finishes starts the next task at once instead of waiting for the calling thread
 * to be scheduled (with as many workers as cores, workers sat idle a tenth of a decode).
 */
const TASKS_PER_WORKER = 2
/** Spares larger than this are not kept (chunks are 1-4 MiB by default, 1 GiB at most). */
const MAX_SPARE = 16 << 20
/** Spares are dropped after the pool has posted nothing for this long. */
const IDLE_TRIM_MS = 1000

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
  /** Input buffers lent to tasks and back from them: a copy into them touches no fresh memory. */
  readonly #inputSpares: SpareBuffers
  /** Results callers gave back (`recycle`), sent on to the workers to write results into. */
  readonly #outputSpares: SpareBuffers
  readonly #lent = new WeakSet<ArrayBuffer>()
  readonly #results = new WeakSet<ArrayBuffer>()
  /** Drops the spares once the pool has been idle a while: memory is kept only while in use. */
  readonly #idleTrim: NodeJS.Timeout
  #nextId = 0
  #closed = false
  #drained: Promise<void> | undefined

  /**
   * `startThreads: 'at-first-task'` starts the threads when the first task comes instead of at
   * once: a command that may need none (decompressing another tool's gzip, which zlib decodes)
   * does not pay for starting them (~0.1 CPU-s each here) while it works.
   */
  constructor(
    size = availableParallelism(),
    options: { startThreads?: 'now' | 'at-first-task' } = {},
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be ≥ 1, got ${size}`)
    this.size = size
    // Inputs: as many as a stream keeps in flight. Outputs: one is sent on with each task.
    this.#inputSpares = new SpareBuffers(this.capacity + size, MAX_SPARE)
    this.#outputSpares = new SpareBuffers(size + 1, MAX_SPARE)
    this.#idleTrim = setTimeout(() => {
      this.#inputSpares.clear()
      this.#outputSpares.clear()
    }, IDLE_TRIM_MS)
    this.#idleTrim.unref()
    if (options.startThreads !== 'at-first-task') this.#spawnAll()
  }

  /** Tasks the workers run or hold ready at once; more wait on the calling thread. */
  get capacity(): number {
    return this.size * TASKS_PER_WORKER
  }

  /**
   * A buffer of exactly `n` bytes for a task's input, from memory the pool keeps: fill it and
   * hand it over with `{ transfer: true }`; it comes back to the pool when the task ends.
   */
  borrow(n: number): Uint8Array {
    const buffer = this.#inputSpares.take(n) ?? new ArrayBuffer(spareSize(n))
    this.#lent.add(buffer)
    return new Uint8Array(buffer, 0, n)
  }

  /**
   * Gives back a result of `encode` or `decode` that the caller is done with (it must hold no
   * other view of it): its memory is written with a later result instead of fresh memory.
   * Anything else is left to the garbage collector.
   */
  recycle(bytes: Uint8Array): void {
    const buffer = bytes.buffer
    if (buffer instanceof ArrayBuffer && this.#results.delete(buffer) && !this.#closed) {
      this.#outputSpares.keep(buffer)
      this.#idleTrim.refresh()
    }
  }

  /** `encodeChunk` on a worker. With `transfer`, `bytes` is detached (when it spans its whole buffer). */
  encode(bytes: Uint8Array, histogram?: Uint32Array, handOver: HandOver = {}): Promise<Uint8Array> {
    const request: PoolRequest = { id: this.#nextId++, op: 'encode', bytes, histogram }
    return this.#submit(request, handOver) as Promise<Uint8Array>
  }

  /**
   * `encode`, and on the same worker the sha256 of the chunk (before it is encoded) and of the
   * member: a job that checks its input and keys its output by content pays no copy of either
   * to another thread, nor two more round trips. The result is `recycle`d as `member`.
   */
  encodeHashed(
    bytes: Uint8Array,
    histogram?: Uint32Array,
    handOver: HandOver = {},
  ): Promise<HashedMember> {
    const request: PoolRequest = { id: this.#nextId++, op: 'encode', bytes, histogram, hash: true }
    return this.#submit(request, handOver) as Promise<HashedMember>
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

  /**
   * The chunk's sha256 and byte-frequency table, computed off the calling thread — but for up
   * to `INLINE_BYTES`, which are counted here (see there).
   */
  analyze(bytes: Uint8Array): Promise<ChunkAnalysis> {
    if (bytes.length <= INLINE_BYTES) return Promise.resolve(analyzeHere(bytes))
    return this.#submit({ id: this.#nextId++, op: 'analyze', bytes }) as Promise<ChunkAnalysis>
  }

  /**
   * The sha256 (hex) of `bytes`, computed off the calling thread (`bytes` is copied across) —
   * but for up to `INLINE_BYTES`, hashed here.
   */
  sha256(bytes: Uint8Array): Promise<string> {
    if (bytes.length <= INLINE_BYTES) return Promise.resolve(sha256Hex(bytes))
    return this.#submit({ id: this.#nextId++, op: 'sha256', bytes }) as Promise<string>
  }

  /**
   * Fails queued tasks, lets the ones already posted to a worker finish, and stops the
   * threads. Idempotent.
   */
  close(): Promise<void> {
    if (this.#drained) return this.#drained
    this.#closed = true
    for (const task of this.#queue.splice(0)) task.reject(new Error('codec pool closed'))
    clearTimeout(this.#idleTrim)
    this.#inputSpares.clear()
    this.#outputSpares.clear()
    const settled = [...this.#posted.values()].flat().map((task) => task.done.catch(() => {}))
    this.#drained = Promise.all(settled).then(async () => {
      const workers = [...this.#posted.keys()]
      this.#posted.clear()
      await Promise.all(workers.map((w) => w.terminate()))
    })
    return this.#drained
  }

  #submit(request: PoolRequest, handOver: HandOver = {}): Promise<TaskResult> {
    if (this.#closed) return Promise.reject(new Error('codec pool closed'))
    let resolve!: Pending['resolve']
    let reject!: Pending['reject']
    const done = new Promise<TaskResult>((res, rej) => {
      resolve = res
      reject = rej
    })
    this.#queue.push({ request, transfer: handOver.transfer === true, resolve, reject, done })
    if (this.#posted.size === 0) this.#spawnAll()
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
      this.#idleTrim.refresh()
      // A busy worker keeps the process alive until its result arrives; an idle one does not.
      worker.ref()
      this.#post(worker, task)
    }
  }

  #post(worker: Worker, task: Pending): void {
    const request = { ...task.request }
    const transfer: ArrayBuffer[] = []
    const spare =
      request.op === 'analyze' || request.op === 'sha256'
        ? undefined
        : this.#outputSpares.takeLargest()
    if (spare) {
      request.spare = spare
      transfer.push(spare)
    }
    const { bytes } = request
    if (bytes.buffer instanceof SharedArrayBuffer) {
      // Shared memory crosses without a copy; the caller keeps it unchanged until we answer.
    } else if (task.transfer && this.#lent.has(bytes.buffer as ArrayBuffer)) {
      request.lent = true
      transfer.push(bytes.buffer as ArrayBuffer)
    } else if (
      task.transfer &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength
    ) {
      transfer.push(bytes.buffer as ArrayBuffer)
    } else {
      // Cloning a view would copy its whole backing buffer (structured clone does), and
      // transferring the caller's would detach it: send a copy, in a lent buffer.
      const copy = this.borrow(bytes.byteLength)
      copy.set(bytes)
      request.bytes = copy
      request.lent = true
      transfer.push(copy.buffer as ArrayBuffer)
    }
    worker.postMessage(request, transfer)
  }

  #spawnAll(): void {
    for (let i = 0; i < this.size; i++) this.#spawn()
  }

  #spawn(): void {
    const worker = new Worker(new URL('./pool-worker.ts', import.meta.url))
    worker.unref()
    this.#posted.set(worker, [])
    let failure: Error | undefined
    worker.on('message', (response: PoolResponse) => {
      if (response.lent) {
        this.#lent.delete(response.lent)
        if (!this.#closed) this.#inputSpares.keep(response.lent)
      }
      const made = 'result' in response ? madeBytes(response.result) : undefined
      if (made) this.#results.add(made.buffer as ArrayBuffer)
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

/** The bytes a task made (a member, decoded bytes), which callers may `recycle`. */
function madeBytes(result: TaskResult): Uint8Array | undefined {
  if (result instanceof Uint8Array) return result
  const member = (result as Partial<HashedMember>).member
  return member instanceof Uint8Array ? member : undefined
}

function revive(error: Extract<PoolResponse, { error: unknown }>['error']): Error {
  if (error.code === undefined) return new Error(error.message)
  // The worker's message already names member and offset; keep them as fields too.
  const revived = new CodecError(error.code, error.message)
  Object.assign(revived, { member: error.member, offset: error.offset })
  return revived
}
