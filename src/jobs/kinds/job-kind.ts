import type { BlobStore } from '../../blobs/index.ts'
import type { CodecPool } from '../../codec/index.ts'
import type { ChunkAnalysisName, FileService } from '../../files/index.ts'
import type { ImageKit } from '../../images/index.ts'
import type { FileRecord, JobRecord } from '../../meta/index.ts'
import type { Logger } from '../../telemetry/index.ts'

export type { ChunkAnalysisName }

/** What a job reads: one file per job (a step fans out over its items), or all of them (a join). */
export type KindInputs = 'one' | 'many'

/** What a job writes: one file, files under a prefix, or a result only. */
export type KindOutput = 'file' | 'files' | 'none'

/** What a kind's work may use. Buffers handed to it are its own (it may transfer them). */
export interface KindContext {
  files: FileService
  blobs: BlobStore
  pool: CodecPool
  log: Logger
  /** The server's cap on the bytes a job may write (decompress, extract). */
  maxOutputBytes: number
  /** Image limits, the detector and the image index (image kinds). */
  images: ImageKit
  /** Passes `source` on, failing with `E_JOB_FINISHED` once the job was cancelled meanwhile. */
  untilCancelled(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>
}

/**
 * One chunk of a `parts` job's input, read and checked against its key — or, for a kind that
 * `checksPartInput`, read and left for the part to hash.
 */
export interface PartInput {
  seq: number
  /** The chunk's sha256 (hex), which its bytes must hash to. */
  key: string
  bytes: Uint8Array
  /** The chunk's byte histogram from upload, when the kind asked for it and it was stored. */
  frequencies?: Uint32Array
}

/**
 * What a part made, when the kind hashed it on the way: the output's sha256 (it is stored under
 * it unhashed) and the sha256 of the input as the part read it (for `checksPartInput`).
 */
export interface PartOutput {
  bytes: Uint8Array
  sha256: string
  inputSha256?: string
}

/** What a `whole` job did: files it wrote (in item order) and figures for its result. */
export interface WholeResult {
  outputs?: FileRecord[]
  result?: Record<string, unknown>
}

/**
 * A job kind: everything Piper knows about one type of job, in one file under `kinds/`. The
 * runner, tasks, gateway and CLI know kinds only through this interface and the registry.
 *
 * A job runs in one of two shapes, which `plan` picks: `parts` turns each chunk of the one input
 * into one output chunk (tasks on many workers at once; the last part's join commits the output
 * file), `whole` does the job in one task.
 */
export interface JobKind {
  readonly name: string
  /** One line for `piper kinds` and the docs. */
  readonly summary: string
  /** JSON Schema of `params` (an object; unknown fields refused). */
  readonly params: object
  /** Checks what a schema cannot say (one of two fields); throws `E_JOB_REQUEST` naming it. */
  checkParams?(params: Record<string, unknown>, where: string): void
  readonly inputs: KindInputs
  readonly output: KindOutput
  /** Analyses of the input's chunks it reads (`part` gets them as `PartInput`). */
  readonly chunkAnalyses?: readonly ChunkAnalysisName[]
  /** Content type of the output file of a `file` kind. */
  readonly contentType?: string
  /** The output name (a prefix ending in `/` for `files`) when the request names none. */
  defaultOutput(input: string, params: Record<string, unknown>): string
  /** Chooses the job's shape; a throw fails the job (a `JobError` at once). */
  plan(job: JobRecord, ctx: KindContext): Promise<'parts' | 'whole'>
  /**
   * `part` hashes the chunk it is given and returns that as `inputSha256`, which the runner
   * checks against the chunk's key before storing anything: the chunk is not hashed apart
   * first (a damaged chunk still fails the job; the part's output is dropped).
   */
  readonly checksPartInput?: boolean
  /** `parts`: one chunk in, its output chunk out (idempotent: the same bytes every time). */
  part?(input: PartInput, job: JobRecord, ctx: KindContext): Promise<Uint8Array | PartOutput>
  /** `whole`: the job in one task; it may run again after a crash, so writes replace. */
  whole?(job: JobRecord, ctx: KindContext): Promise<WholeResult>
}

/** The names of the files a job reads: `inputs` of a joining kind, else its one `input`. */
export function jobInputs(job: JobRecord): string[] {
  return job.inputs ?? [job.input]
}
