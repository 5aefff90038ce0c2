import { randomUUID } from 'node:crypto'
import type { BlobStore } from '../blobs/index.ts'
import { type CodecPool, freeNow } from '../codec/index.ts'
import {
  checkFileName,
  EMPTY_SHA256,
  FileError,
  type FileService,
  measuredHistogram,
  NOT_MEASURED,
  readChunkVerified,
} from '../files/index.ts'
import type { ImageKit } from '../images/index.ts'
import {
  type FileRecord,
  type JobRecord,
  type ManifestEntry,
  MetaError,
  type MetaStore,
} from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { endJob } from './end-job.ts'
import { JobError } from './errors.ts'
import type { JobEventFeed } from './event-feed.ts'
import { isTerminal } from './job-state.ts'
import {
  type JobKind,
  jobInputs,
  type KindContext,
  type KindRegistry,
  type PartOutput,
} from './kinds/index.ts'
import { OutputDigests } from './output-digests.ts'
import { frequenciesFromBase64, frequenciesToBase64, publishTask, type Task } from './tasks.ts'

/** Told once a job has ended (any final state), e.g. to move its pipeline run on. */
export type JobEndListener = (job: JobRecord) => Promise<void>

export interface JobRunnerOptions {
  meta: MetaStore
  files: FileService
  blobs: BlobStore
  queue: Queue
  pool: CodecPool
  feed: JobEventFeed
  logger: Logger
  kinds: KindRegistry
  /** Limits, detector and index for image kinds. */
  images: ImageKit
  /** The server's cap on the bytes a job may write (decompress, extract), default 64 GiB. */
  maxDecompressOutput?: number
  onEnded?: JobEndListener
}

/** Where a test may kill the process: a one-part job's output stored, before its commit. */
const FAILPOINT = process.env.PIPER_FAILPOINT

/** A job's output limit when nothing sets one: a guard against gzip and tar bombs. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 2 ** 30

type PartTask = Extract<Task, { kind: 'part' }>

/** A part's output, with its hashes when the kind made them (`PartOutput`). */
type Made = { bytes: Uint8Array } & Partial<PartOutput>

function asMade(made: Uint8Array | PartOutput): Made {
  return made instanceof Uint8Array ? { bytes: made } : made
}

/**
 * What workers do with each task, whatever the job's kind: the kind (`kinds/`) says how a job
 * fans out and what one task computes; this class plans, stores, joins and ends. Every step is
 * idempotent: it reads the job first and does nothing once the job has moved on, stores output
 * chunks by content at fixed positions, and changes job state only by compare-and-set, so a
 * redelivered or duplicated task changes nothing visible.
 */
export class JobRunner {
  readonly #o: JobRunnerOptions
  readonly #log: Logger
  /** The chunk keys of recent jobs' inputs, in order (see `#inputKeys`). */
  readonly #inputs = new Map<string, Promise<string[]>>()
  readonly #digests = new OutputDigests()

  constructor(options: JobRunnerOptions) {
    this.#o = options
    this.#log = options.logger.child({ component: 'job-runner' })
  }

  /** Runs one task; throws to have it retried (or, for a `JobError`/`CodecError`, failed). */
  async run(task: Task): Promise<void> {
    const job = await this.#o.meta.jobById(task.job)
    if (!job || isTerminal(job.state)) return
    const kind = this.#kindOf(job)
    switch (task.kind) {
      case 'start':
        return this.#start(job, kind)
      case 'part':
        return this.#part(job, kind, task)
      case 'join':
        return this.#join(job, kind)
      case 'stream':
        return this.#whole(job, kind)
    }
  }

  /** Marks the task's job failed with the error (a permanent error, or the last attempt). */
  async fail(task: Task, error: unknown): Promise<void> {
    const code = (error as { code?: unknown }).code
    const reason = {
      code: typeof code === 'string' && code.startsWith('E_') ? code : 'E_INTERNAL',
      message: error instanceof Error ? error.message : String(error),
    }
    const { meta, files, feed } = this.#o
    const deps = { meta, files, feed, log: this.#log }
    const { job, ended } = await endJob(deps, () => meta.jobById(task.job), {
      state: 'failed',
      error: reason,
    })
    if (!ended) return
    this.#log.warn({ job: task.job, ...reason }, 'job failed')
    await this.#ended(job!)
  }

  #kindOf(job: JobRecord): JobKind {
    try {
      return this.#o.kinds.get(job.type)
    } catch {
      throw new JobError(
        'E_JOB_TASK',
        `job ${job.id} is of kind ${job.type}, which this worker does not know`,
      )
    }
  }

  /** Plans the job with its kind: one part task per input chunk, or one task for the whole. */
  async #start(job: JobRecord, kind: JobKind): Promise<void> {
    const { meta, files } = this.#o
    const read = await this.#readInputs(job, kind)
    const inputs = read.files
    const shape = await kind.plan(job, this.#context(job))
    checkShape(kind, shape, inputs.length)
    const manifest = shape === 'parts' ? (read.manifest ?? (await files.manifest(inputs[0]!))) : []
    // The parts this process runs check their chunks against it without reading it again.
    if (shape === 'parts') this.#remember(job.id, Promise.resolve(manifest.map((e) => e.key)))
    // An input of one chunk (or none) has one part, run here with its output committed with
    // the job's success: no upload, and no trips through the queue for a part and a join.
    const onePart = shape === 'parts' && manifest.length <= 1
    const started = {
      started_at: Date.now(),
      input_size: inputs.reduce((sum, file) => sum + file.size, 0),
      chunks: inputs.reduce((sum, file) => sum + file.chunkCount, 0),
    }
    const sayRunning = () =>
      this.#log.debug(
        { job: job.id, kind: kind.name, shape, chunks: manifest.length },
        'job running',
      )
    if (onePart) {
      sayRunning()
      // Its start is recorded with its end, in the commit of its output: a separate commit of
      // `running` cost a transaction per small job. A job still `queued` reads so until then;
      // its events still say `running` before they say how it ended.
      const task = partTasks(job, kind, manifest)[0] ?? emptyPart(job.id)
      return this.#onePart(job, kind, task, job.state === 'queued' ? started : undefined)
    }
    let running = job
    if (job.state === 'queued') {
      // A parts job's output upload begins in the transaction that starts the job.
      const uploadId = shape === 'parts' ? randomUUID() : undefined
      const moved = await meta.updateJob(job.id, job.version, {
        state: 'running',
        ...(uploadId ? { uploadId, beginUpload: checkFileName(job.output) } : {}),
        result: started,
      })
      // Cancelled, or another delivery of this task got there first: that one goes on (and
      // no upload was begun).
      if (!moved) return
      this.#o.feed.notify()
      running = moved
    }
    sayRunning()
    // A whole job runs in this task: another hop through the queue would buy nothing (a
    // redelivered start, after a crash, plans again and runs it again; its writes replace).
    if (shape === 'whole') return this.#whole(running, kind)
    const tasks = partTasks(job, kind, manifest)
    await Promise.all(tasks.map((task) => this.#publish(job, task)))
  }

  /**
   * The records of the job's inputs; for a kind that can run parts, its one input's manifest
   * too, read with the record in one statement.
   */
  async #readInputs(
    job: JobRecord,
    kind: JobKind,
  ): Promise<{ files: FileRecord[]; manifest?: ManifestEntry[] }> {
    const { files } = this.#o
    const names = jobInputs(job)
    if (kind.part && names.length === 1) {
      const { file, manifest } = await files.statWithManifest(job.clientId, names[0]!)
      return { files: [file], manifest }
    }
    return { files: await Promise.all(names.map((name) => files.stat(job.clientId, name))) }
  }

  /** Runs a part task (of a job of several): its output stored, then the set reported. */
  async #part(job: JobRecord, kind: JobKind, task: PartTask): Promise<void> {
    // A task names its chunk by key; only a chunk of this job's input may be read for it, or a
    // task published by anyone who can reach the queue could copy another client's data into
    // this client's output.
    const keys = await this.#inputKeys(job)
    if (keys[task.seq] !== task.key || task.total !== keys.length) {
      throw new JobError(
        'E_JOB_TASK',
        `part ${task.seq} of job ${job.id} names a chunk that is not part ${task.seq} of its input (was the input replaced?)`,
      )
    }
    const output = await this.#runPart(job, kind, task)
    await this.#storePart(job, task.seq, output, task.size)
    await this.#afterPart(job, task.seq, task.total)
  }

  /**
   * The one part of a job over an input of at most one chunk, and its output committed as the
   * job's file with the job's success, in one transaction (its blob stored first). A repeated
   * start after a crash runs it again; only one commit moves the job on.
   */
  async #onePart(
    job: JobRecord,
    kind: JobKind,
    task: PartTask,
    startedWith?: Record<string, unknown>,
  ): Promise<void> {
    const { files, meta, pool } = this.#o
    const { bytes, sha256 } = await this.#runPart(job, kind, task)
    try {
      const size = bytes.length
      const key = size === 0 ? EMPTY_SHA256 : (sha256 ?? (await pool.sha256(bytes)))
      const chunk = size === 0 ? undefined : { key, size, frequencies: NOT_MEASURED }
      // One chunk: the file's sha256 is its key (a chunk is stored under the sha256 of its bytes).
      const contentType = kind.contentType ?? 'application/octet-stream'
      const summary = { size, sha256: key, contentType }
      const ran = startedWith ? { ...job, result: startedWith } : job
      const patch = { state: 'succeeded' as const, result: figures(ran, size) }
      const oneChunk = {
        chunk,
        sourceSize: task.size,
        clientId: job.clientId,
        output: job.output,
        ...(startedWith ? { startedWith } : {}),
      }
      const committed = await files.commitOneChunk(chunk, bytes, (lease) => {
        if (FAILPOINT === 'one-part-stored') process.kill(process.pid, 'SIGKILL')
        return meta.commitJobOutput(job.id, job.version, summary, patch, { ...oneChunk, lease })
      })
      if (committed) await this.#succeeded(committed.job)
    } finally {
      freeNow(bytes)
    }
  }

  /**
   * One part's work: its input chunk read and checked, and the kind's output for it (whose
   * bytes the caller then owns).
   */
  async #runPart(job: JobRecord, kind: JobKind, task: PartTask): Promise<Made> {
    const { blobs, pool } = this.#o
    if (!kind.part) throw new JobError('E_JOB_TASK', `kind ${kind.name} runs no part tasks`)
    if (task.size === 0) {
      const empty = { seq: task.seq, key: task.key, bytes: new Uint8Array(0) }
      return asMade(await kind.part(empty, job, this.#context(job)))
    }
    // A damaged chunk fails the job (E_CHUNK_CORRUPT) instead of becoming a wrong output: it is
    // hashed on the pool (4 MiB of sha256 is ~3 ms this thread would spend on every part), apart
    // or by the part itself — which reads it into memory the pool lends (and gets back when the
    // part hands the chunk over to it): fresh memory for every chunk cost this thread a page
    // fault per 4 KiB. Checked here, it is read unchecked by the store; found damaged, it is
    // read once more as the store checks it, which lets a store of several copies serve a good one.
    const frequencies = task.frequencies ? frequenciesFromBase64(task.frequencies) : undefined
    for (let unchecked = true; ; unchecked = false) {
      const bytes = kind.checksPartInput
        ? await blobs.read(task.key, { allocate: (n) => pool.borrow(n), unchecked })
        : await readChunkVerified(blobs, task.key, (b) => pool.sha256(b))
      const input = { seq: task.seq, key: task.key, bytes, frequencies }
      const output = asMade(await kind.part(input, job, this.#context(job)))
      if (!kind.checksPartInput || output.inputSha256 === task.key) return output
      freeNow(output.bytes)
      if (!unchecked) {
        throw new FileError(
          'E_CHUNK_CORRUPT',
          `chunk ${task.key} is damaged: its bytes hash to ${output.inputSha256 ?? '(not hashed)'}`,
        )
      }
    }
  }

  /** Stores a part's output (taking its bytes: they are hashed for the join, then freed). */
  async #storePart(job: JobRecord, seq: number, { bytes, sha256 }: Made, sourceSize: number) {
    let key: string
    try {
      // The progress event after it commits durably, and with it this row, before the ack.
      key = await this.#o.files.storeChunk(job.uploadId!, seq, bytes, {
        sourceSize,
        durable: false,
        keyOnly: true,
        pending: true,
        ...(sha256 ? { sha256 } : {}),
      })
    } catch (error) {
      freeNow(bytes)
      // Cancelled under us: the upload was freed, and there is nothing left to do.
      if (error instanceof MetaError && error.code === 'E_UPLOAD_GONE') {
        const now = await this.#o.meta.jobById(job.id)
        if (now && isTerminal(now.state)) return
      }
      throw error
    }
    this.#digests.add(job.id, seq, key, bytes)
  }

  /**
   * Reports part `seq` done; the part that completes the set (seen after its commit) publishes
   * the join. Parts still being written do not count, so it is the last part stored that
   * publishes it, once (a part redelivered after that publishes it again; the queue drops the
   * repeated key, and a join of an ended job does nothing).
   */
  async #afterPart(job: JobRecord, seq: number, total: number): Promise<void> {
    const { meta, feed } = this.#o
    const progress = await meta.addProgressEvent({
      clientId: job.clientId,
      jobId: job.id,
      uploadId: job.uploadId!,
      seq,
      chunksTotal: total,
    })
    feed.notify()
    if (progress.chunks < total) return
    await this.#publish(job, { kind: 'join', job: job.id })
  }

  /** Commits the output file and the job's success in one transaction. */
  async #join(job: JobRecord, kind: JobKind): Promise<void> {
    const { files, meta } = this.#o
    const digest = await files.uploadDigest(job.uploadId!, this.#digests.take(job.id))
    // The job's row is as the start left it (parts change only the upload): its version holds.
    const committed = await meta.commitJobOutput(
      job.id,
      job.version,
      { ...digest, contentType: kind.contentType ?? 'application/octet-stream' },
      { state: 'succeeded', result: figures(job, digest.size) },
    )
    if (!committed) return
    await files.free(committed.released)
    await this.#succeeded(committed.job)
  }

  /** A job in one task: the kind does the work and stores its outputs; this records success. */
  async #whole(job: JobRecord, kind: JobKind): Promise<void> {
    if (!kind.whole) throw new JobError('E_JOB_TASK', `kind ${kind.name} runs no whole task`)
    const done = await kind.whole(job, this.#context(job))
    const outputs = done.outputs ?? []
    const result = {
      ...figures(
        job,
        outputs.reduce((sum, file) => sum + file.size, 0),
      ),
      ...done.result,
      ...(kind.output === 'files' ? { outputs: outputs.map((file) => file.name) } : {}),
    }
    const ended = await this.#o.meta.updateJob(job.id, job.version, { state: 'succeeded', result })
    if (ended) await this.#succeeded(ended)
  }

  async #succeeded(job: JobRecord): Promise<void> {
    this.#o.feed.notify()
    const { output_size, run_ms } = job.result ?? {}
    this.#log.info({ job: job.id, kind: job.type, output_size, run_ms }, 'job succeeded')
    await this.#ended(job)
  }

  async #ended(job: JobRecord): Promise<void> {
    this.#digests.drop(job.id)
    this.#inputs.delete(job.id)
    await this.#o.onEnded?.(job)
  }

  #context(job: JobRecord): KindContext {
    const { files, blobs, pool } = this.#o
    return {
      files,
      blobs,
      pool,
      log: this.#log.child({ job: job.id }),
      maxOutputBytes: this.#o.maxDecompressOutput ?? DEFAULT_MAX_OUTPUT_BYTES,
      images: this.#o.images,
      untilCancelled: (source) => this.#untilCancelled(job, source),
    }
  }

  /**
   * The chunk keys of the job's input, read once per job in this process rather than once per
   * part (a part's check would otherwise read every row: quadratic in the chunks).
   */
  #inputKeys(job: JobRecord): Promise<string[]> {
    let keys = this.#inputs.get(job.id)
    if (!keys) {
      const { files } = this.#o
      keys = files
        .stat(job.clientId, job.input)
        .then((input) => files.manifest(input))
        .then((manifest) => manifest.map((entry) => entry.key))
      keys.catch(() => this.#inputs.delete(job.id))
      this.#remember(job.id, keys)
    }
    return keys
  }

  #remember(jobId: string, keys: Promise<string[]>): void {
    this.#inputs.set(jobId, keys)
    // Keys only (~100 bytes a chunk), for as many jobs as may be waiting on the queue at once:
    // with 64, a burst of 200 jobs had each one's first part read its manifest again.
    if (this.#inputs.size > 1024) this.#inputs.delete(this.#inputs.keys().next().value!)
  }

  /** Passes the bytes on, checking about once a second that the job was not cancelled. */
  async *#untilCancelled(job: JobRecord, source: AsyncIterable<Uint8Array>) {
    let checked = Date.now()
    for await (const piece of source) {
      if (Date.now() - checked > 1_000) {
        checked = Date.now()
        const now = await this.#o.meta.jobById(job.id)
        if (now?.state !== 'running') {
          throw new JobError('E_JOB_FINISHED', `job ${job.id} is ${now?.state ?? 'gone'}`)
        }
      }
      yield piece
    }
  }

  #publish(job: JobRecord, task: Task): Promise<void> {
    return publishTask(this.#o.queue, job, task)
  }
}

/** `E_JOB_TASK` when the kind planned a shape it cannot run. */
function checkShape(kind: JobKind, shape: 'parts' | 'whole', inputs: number): void {
  if (shape === 'parts' && (inputs !== 1 || !kind.part || kind.output !== 'file')) {
    throw new JobError('E_JOB_TASK', `kind ${kind.name} planned parts it cannot run`)
  }
  if (shape === 'whole' && !kind.whole) {
    throw new JobError('E_JOB_TASK', `kind ${kind.name} planned a whole task it cannot run`)
  }
}

/** The one part of an empty input (an empty file still compresses to one gzip member). */
function emptyPart(job: string): PartTask {
  return { kind: 'part', job, seq: 0, total: 1, key: EMPTY_SHA256, size: 0 }
}

/** A succeeded job's figures: sizes, ratio (output / input) and duration. */
function figures(job: JobRecord, outputSize: number): Record<string, unknown> {
  const started = Number(job.result?.started_at ?? job.created)
  const inputSize = Number(job.result?.input_size ?? 0)
  return {
    input_size: inputSize,
    output_size: outputSize,
    ratio: inputSize === 0 ? 0 : Math.round((outputSize / inputSize) * 10_000) / 10_000,
    duration_ms: Date.now() - job.created,
    run_ms: Date.now() - started,
  }
}

/**
 * The part tasks of a job over `manifest`, one per chunk; a chunk stored while no kind wanted
 * its histogram has none, and its part measures it.
 */
function partTasks(job: JobRecord, kind: JobKind, manifest: readonly ManifestEntry[]): PartTask[] {
  const wantsHistogram = kind.chunkAnalyses?.includes('histogram') ?? false
  return manifest.map((entry): PartTask => {
    const histogram = wantsHistogram && measuredHistogram(entry.frequencies, entry.size)
    return {
      kind: 'part',
      job: job.id,
      seq: entry.seq,
      total: manifest.length,
      key: entry.key,
      size: entry.size,
      ...(histogram ? { frequencies: frequenciesToBase64(histogram) } : {}),
    }
  })
}
