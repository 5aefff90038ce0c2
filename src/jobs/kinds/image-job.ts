import type { Sharp } from 'sharp'
import {
  ENCODE_PARAMS,
  type EncodeOptions,
  encode,
  FORMAT_PARAM,
  type ImageSource,
  OUTPUT_FORMATS,
  type OutputFormat,
  outputFormatFor,
  readImage,
} from '../../images/index.ts'
import type { FileRecord, JobRecord } from '../../meta/index.ts'
import { type JobKind, jobInputs, type KindContext } from './job-kind.ts'

// What the image kinds share: reading the input image, writing an encoded output, their
// common params, and the record of what a job wrote (for image statistics).

/** Params every kind that writes an image takes: the format, the encoder, keeping metadata. */
export const OUTPUT_PARAMS = {
  format: FORMAT_PARAM,
  ...ENCODE_PARAMS,
  keepMetadata: { type: 'boolean' },
} as const

/**
 * Runs `work` on the job's (first) input as an image, its bytes checked as they are read, while
 * holding one of the process's image slots (so memory is bounded whatever the concurrency).
 */
export async function withImage<T>(
  job: JobRecord,
  ctx: KindContext,
  work: (opened: { file: FileRecord; image: ImageSource }) => Promise<T>,
  name = jobInputs(job)[0]!,
): Promise<T> {
  const release = await ctx.images.slots.take()
  try {
    const file = await ctx.files.stat(job.clientId, name)
    const image = await readImage(ctx.files, file, ctx.images.limits, ctx.untilCancelled)
    return await work({ file, image })
  } finally {
    release()
  }
}

/** The format and encoder settings of a job's params, for an input of `inputFormat`. */
export function outputOf(params: Record<string, unknown>, inputFormat: string) {
  const format = outputFormatFor(inputFormat, params.format as string | undefined)
  const options: EncodeOptions = {
    quality: params.quality as number | undefined,
    effort: params.effort as number | undefined,
    lossless: params.lossless as boolean | undefined,
    progressive: params.progressive as boolean | undefined,
  }
  return { format, options }
}

/** Encodes `pipeline` and stores it as `name`; the encoded bytes are handed to the file store. */
export async function storeImage(
  job: JobRecord,
  ctx: KindContext,
  name: string,
  pipeline: Sharp,
  format: OutputFormat,
  options: EncodeOptions,
): Promise<FileRecord> {
  const bytes = await encode(pipeline, format, options).toBuffer()
  return ctx.files.put(job.clientId, name, [bytes], {
    contentType: OUTPUT_FORMATS[format].contentType,
  })
}

/** Adds what a job measured of the file (hashes, stats) to its entry in the image index. */
export async function indexImage(
  job: JobRecord,
  ctx: KindContext,
  file: FileRecord,
  image: ImageSource,
  measured: { phash?: string; dhash?: string; stats?: object },
): Promise<void> {
  await ctx.images.store.saveImage({
    fileId: file.id,
    clientId: job.clientId,
    format: image.info.format,
    width: image.info.width,
    height: image.info.height,
    bytes: file.size,
    ...measured,
  })
}

/** Records the job's outputs once (a task run again records nothing more). */
export async function recordOutputs(
  job: JobRecord,
  ctx: KindContext,
  bytesIn: number,
  outputs: readonly FileRecord[],
): Promise<void> {
  await ctx.images.store.saveImageOutputs({
    jobId: job.id,
    clientId: job.clientId,
    kind: job.type,
    outputs: outputs.length,
    bytesIn,
    bytesOut: outputs.reduce((sum, file) => sum + file.size, 0),
  })
}

/** `a/photo.jpg` + `-480` → `a/photo-480.jpg`; with a format, its extension replaces the name's. */
export function derivedName(input: string, suffix: string, format?: string): string {
  const slash = input.lastIndexOf('/')
  const dot = input.lastIndexOf('.')
  const hasExt = dot > slash + 1
  const stem = hasExt ? input.slice(0, dot) : input
  const ext = format ? OUTPUT_FORMATS[format as OutputFormat].ext : hasExt ? input.slice(dot) : ''
  return `${stem}${suffix}${ext}`
}

/**
 * What every kind that measures an image shares (`image.hash`, `image.stats`,
 * `image.analyze`): no params, one image in, a result and the image index out, no file.
 */
export const MEASURING_KIND = {
  params: { type: 'object', additionalProperties: false, properties: {} },
  inputs: 'one',
  output: 'none',
  defaultOutput: () => '',
  plan: async () => 'whole',
} as const satisfies Partial<JobKind>
