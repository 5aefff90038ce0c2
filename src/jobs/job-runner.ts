import type { BlobStore } from '../blobs/index.ts'
import { type CodecPool, decompress, freeNow } from '../codec/index.ts'
import { type FileService, readChunkVerified } from '../files/index.ts'
import { type JobRecord, type ManifestEntry, MetaError, type MetaStore } from '../meta/index.ts'
import type { Queue } from '../queue/index.ts'
import type { Logger } from '../telemetry/index.ts'
import { piperMembers } from './chunk-plan.ts'
import { endJob } from './end-job.ts'
import { JobError } from './errors.ts'
import type { JobEventFeed } from './event-feed.ts'
import type { JobParams } from './job-request.ts'
import { isTerminal } from './job-state.ts'
import {
  encodeTask,
  frequenciesFromBase64,
  frequenciesToBase64,
  TASK_TOPIC,
  type Task,
  taskKey,
} from './tasks.ts'

export interface JobRunnerOptions {
  meta: MetaStore
  files: FileService
  blobs: BlobStore
  queue: Queue
  pool: CodecPool
  feed: JobEventFeed
  logger: Logger
  /** The server's cap on a decompress job's output, whatever its params ask (default 64 GiB). */
  maxDecompressOutput?: number
}

/** A decompress job's output limit when its params set none: a guard against gzip bombs. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 2 ** 30

type PartTask = Extract<Task, { kind: 'part' }>

/**
 * What workers do with each task. Every step is idempotent: it reads the job first and does
 * nothing once the job has moved on, stores output chunks by content at fixed positions, and
 * changes job state only by compare-and-set, so a redelivered or duplicated task changes
 * nothing visible.
 */
export class JobRunner {
  readonly #o: JobRunnerOptions
  readonly #log: Logger
  readonly #manifests = new Map<string, Promise<ManifestEntry[]>>()

  constructor(options: JobRunnerOptions) {
    this.#o = options
    this.#log = options.logger.child({ component: 'job-runner' })
  }

  /** Runs one task; throws to have it retried (or, for a `JobError`/`CodecError`, failed). */
  async run(task: Task): Promise<void> {
    const job = await this.#o.meta.jobById(task.job)
    if (!job || isTerminal(job.state)) return
    switch (task.kind) {
      case 'start':
        return this.#start(job)
      case 'part':
        return this.#part(job, task)
      case 'join':
        return this.#join(job)
      case 'stream':
        return this.#stream(job)
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
    const { ended } = await endJob(deps, () => meta.jobById(task.job), {
      state: 'failed',
      error: reason,
    })
    if (ended) this.#log.warn({ job: task.job, ...reason }, 'job failed')
  }

  /** Plans the job: one part task per input chunk, or one stream task. */
  async #start(job: JobRecord): Promise<void> {
    const { meta, files, blobs } = this.#o
    const input = await files.stat(job.clientId, job.input)
    const manifest = await meta.manifest(input.id)
    let parts = job.type === 'compress'
    if (job.type === 'decompress') {
      const members = await piperMembers(blobs, manifest)
      const limit = this.#outputLimit(job)
      if (members && members.outputBytes > limit) {
        throw new JobError('E_JOB_REQUEST', `the output would exceed ${limit} bytes`)
      }
      parts = members !== undefined
    }
    let running = job
    if (job.state === 'queued') {
      const uploadId = parts ? await files.beginUpload(job.clientId, job.output) : undefined
      const moved = await meta.updateJob(job.id, job.version, {
        state: 'running',
        uploadId,
        result: { started_at: Date.now(), input_size: input.size, chunks: manifest.length },
      })
      if (!moved) {
        // Cancelled, or another delivery of this task got there first: that one goes on.
        if (uploadId) await files.abortUpload(uploadId)
        return
      }
      this.#o.feed.notify()
      running = moved
    }
    this.#log.info({ job: job.id, chunks: manifest.length, parts }, 'job running')
    if (!parts) return this.#publish({ kind: 'stream', job: job.id })
    if (manifest.length === 0) {
      // An empty file still compresses to one (empty) gzip member.
      await this.#storePart(running, 0, new Uint8Array(0), 0)
      return this.#afterPart(running, 1)
    }
    await Promise.all(
      manifest.map((entry) =>
        this.#publish({
          kind: 'part',
          job: job.id,
          seq: entry.seq,
          total: manifest.length,
          key: entry.key,
          size: entry.size,
          frequencies: frequenciesToBase64(entry.frequencies),
        }),
      ),
    )
  }

  async #part(job: JobRecord, task: PartTask): Promise<void> {
    const { blobs, pool } = this.#o
    // A task names its chunk by key; only a chunk of this job's input may be read for it, or a
    // task published by anyone who can reach the queue could copy another client's data into
    // this client's output.
    const manifest = await this.#inputManifest(job)
    if (manifest[task.seq]?.key !== task.key || task.total !== manifest.length) {
      throw new JobError(
        'E_JOB_TASK',
        `part ${task.seq} of job ${job.id} names a chunk that is not part ${task.seq} of its input (was the input replaced?)`,
      )
    }
    // A damaged chunk fails the job (E_CHUNK_CORRUPT) instead of becoming a wrong output. Hashed
    // on the pool: 4 MiB of sha256 is ~3 ms this thread would spend on every part.
    const input = await readChunkVerified(blobs, task.key, (bytes) => pool.sha256(bytes))
    const inputSize = input.length
    // The chunk was read into a buffer of its own: the pool takes it without a copy.
    const output =
      job.type === 'compress'
        ? await pool.encode(
            input,
            task.frequencies ? frequenciesFromBase64(task.frequencies) : undefined,
            { transfer: true },
          )
        : await pool.decode(input, { member: task.seq }, { transfer: true })
    await this.#storePart(job, task.seq, output, inputSize)
    freeNow(output)
    await this.#afterPart(job, task.total)
  }

  async #storePart(job: JobRecord, seq: number, bytes: Uint8Array, sourceSize: number) {
    try {
      // The progress event after it commits durably, and with it this row, before the ack.
      await this.#o.files.storeChunk(job.uploadId!, seq, bytes, { sourceSize, durable: false })
    } catch (error) {
      // Cancelled under us: the upload was freed, and there is nothing left to do.
      if (error instanceof MetaError && error.code === 'E_UPLOAD_GONE') {
        const now = await this.#o.meta.jobById(job.id)
        if (now && isTerminal(now.state)) return
      }
      throw error
    }
  }

  /** Reports progress; the part that completes the set (seen after its commit) starts the join. */
  async #afterPart(job: JobRecord, total: number): Promise<void> {
    const { meta, feed } = this.#o
    const progress = await meta.addProgressEvent({
      clientId: job.clientId,
      jobId: job.id,
      uploadId: job.uploadId!,
      chunksTotal: total,
    })
    feed.notify()
    if (progress.chunks >= total) await this.#publish({ kind: 'join', job: job.id })
  }

  /** Commits the output file and the job's success in one transaction. */
  async #join(job: JobRecord): Promise<void> {
    const { files, meta } = this.#o
    const digest = await files.uploadDigest(job.uploadId!)
    const committed = await meta.commitJobOutput(
      job.id,
      job.version,
      { ...digest, contentType: contentTypeOf(job) },
      { state: 'succeeded', result: figures(job, digest.size) },
    )
    if (!committed) return
    this.#o.feed.notify()
    await files.free(committed.released)
    this.#log.info({ job: job.id, ...committed.job.result }, 'job succeeded')
  }

  /**
   * The manifest of the job's input, read once per job in this process rather than once per
   * part (a part's check would otherwise read every row: quadratic in the chunks).
   */
  #inputManifest(job: JobRecord): Promise<ManifestEntry[]> {
    let manifest = this.#manifests.get(job.id)
    if (!manifest) {
      const { files, meta } = this.#o
      manifest = files.stat(job.clientId, job.input).then((input) => meta.manifest(input.id))
      manifest.catch(() => this.#manifests.delete(job.id))
      this.#manifests.set(job.id, manifest)
      // A few jobs run at once; the oldest entries go first.
      if (this.#manifests.size > 64) this.#manifests.delete(this.#manifests.keys().next().value!)
    }
    return manifest
  }

  /** A decompress job's output limit: its own, held to the server's maximum. */
  #outputLimit(job: JobRecord): number {
    const server = this.#o.maxDecompressOutput ?? DEFAULT_MAX_OUTPUT_BYTES
    return Math.min((job.params as JobParams).maxOutputBytes ?? server, server)
  }

  /** A whole decompression in one pass: gzip that is not one Piper member per chunk. */
  async #stream(job: JobRecord): Promise<void> {
    const { files, pool, meta } = this.#o
    const input = await files.stat(job.clientId, job.input)
    const maxOutput = this.#outputLimit(job)
    const output = decompress(files.read(input), { pool, maxOutput })
    const file = await files.put(job.clientId, job.output, this.#untilCancelled(job, output), {
      contentType: contentTypeOf(job),
    })
    const done = await meta.updateJob(job.id, job.version, {
      state: 'succeeded',
      result: figures(job, file.size),
    })
    if (done) this.#o.feed.notify()
  }

  /** Passes the bytes on, checking about once a second that the job was not cancelled. */
  async *#untilCancelled(job: JobRecord, source: AsyncIterable<Uint8Array>) {
    let checked = Date.now()
    for await (const piece of source) {
      if (Date.now() - checked > 1_000) {
        checked = Date.now()
        const now = await this.#o.meta.jobById(job.id)
        if (!now || now.state !== 'running') {
          throw new JobError('E_JOB_FINISHED', `job ${job.id} is ${now?.state ?? 'gone'}`)
        }
      }
      yield piece
    }
  }

  async #publish(task: Task): Promise<void> {
    await this.#o.queue.publish(TASK_TOPIC, encodeTask(task), { idempotencyKey: taskKey(task) })
  }
}

function contentTypeOf(job: JobRecord): string {
  return job.type === 'compress' ? 'application/gzip' : 'application/octet-stream'
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
