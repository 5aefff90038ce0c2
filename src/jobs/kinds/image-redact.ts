import {
  DETECTIONS_CONTENT_TYPE,
  DETECTIONS_SUFFIX,
  type DetectionsFile,
  parseDetections,
  REDACT_METHODS,
  type RedactMethod,
  type Region,
  rawPipeline,
  redact,
} from '../../images/index.ts'
import { JobError } from '../errors.ts'
import {
  derivedName,
  OUTPUT_PARAMS,
  outputOf,
  recordOutputs,
  storeImage,
  withImage,
} from './image-job.ts'
import { type JobKind, jobInputs, type KindContext } from './job-kind.ts'

/** A detections file is small; a larger "detections file" is not one. */
const MAX_DETECTIONS_BYTES = 8 * 1024 * 1024

const REGION = {
  type: 'object',
  additionalProperties: false,
  required: ['x', 'y', 'width', 'height'],
  properties: {
    x: { type: 'integer', minimum: 0 },
    y: { type: 'integer', minimum: 0 },
    width: { type: 'integer', minimum: 1 },
    height: { type: 'integer', minimum: 1 },
  },
} as const

/**
 * `image.redact`: blurs, pixelates or fills regions of an image. The input is either an image,
 * with the regions in `params.regions`, or the detections file of an `image.detect` step, whose
 * image (checked by sha256: it must not have changed since) gets its detected regions hidden,
 * those of `params.labels` (all by default) scoring at least `params.minScore`. Each region is
 * grown by `padding` (a fraction of its size) on every side; pixels outside every region are
 * left exactly as they were.
 */
export const imageRedact: JobKind = {
  name: 'image.redact',
  summary: 'blur, pixelate or fill regions (given, or found by an image.detect step)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      method: { enum: [...REDACT_METHODS] },
      strength: { type: 'number', minimum: 0.3, maximum: 1000 },
      color: { type: 'string', minLength: 1, maxLength: 64 },
      padding: { type: 'number', minimum: 0, maximum: 1 },
      labels: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
      minScore: { type: 'number', minimum: 0, maximum: 1 },
      regions: { type: 'array', items: REGION, maxItems: 10_000 },
      // No keepMetadata: a redacted image keeps no EXIF (a GPS position is a region too).
      format: OUTPUT_PARAMS.format,
      quality: OUTPUT_PARAMS.quality,
      effort: OUTPUT_PARAMS.effort,
      lossless: OUTPUT_PARAMS.lossless,
      progressive: OUTPUT_PARAMS.progressive,
    },
  },
  inputs: 'one',
  output: 'file',
  defaultOutput: (input, params) =>
    derivedName(
      input.endsWith(DETECTIONS_SUFFIX) ? input.slice(0, -DETECTIONS_SUFFIX.length) : input,
      '.redacted',
      params.format as string | undefined,
    ),
  plan: async () => 'whole',

  async whole(job, ctx) {
    const p = job.params
    const inputName = jobInputs(job)[0]!
    const input = await ctx.files.stat(job.clientId, inputName)
    const detections = isDetections(input.name, input.contentType)
      ? await readDetections(job.clientId, input, ctx)
      : undefined
    return withImage(
      job,
      ctx,
      async ({ file, image }) => {
        if (detections && detections.sha256 !== file.sha256) {
          throw new JobError(
            'E_JOB_REQUEST',
            `${file.name} changed after ${input.name} was made (its sha256 differs); detect again`,
          )
        }
        const raw = await image.raw()
        const regions: Region[] = ((p.regions as Region[] | undefined) ?? []).slice()
        if (detections) {
          const labels = p.labels as string[] | undefined
          const minScore = (p.minScore as number | undefined) ?? 0
          // Boxes are in the pixels the detector saw; scale them should the sizes differ.
          const sx = raw.width / detections.width
          const sy = raw.height / detections.height
          for (const d of detections.detections) {
            if (labels && !labels.includes(d.label)) continue
            if (d.score < minScore) continue
            regions.push({
              x: d.box.x * sx,
              y: d.box.y * sy,
              width: d.box.width * sx,
              height: d.box.height * sy,
            })
          }
        }
        const hidden = await redact(raw, regions, {
          method: (p.method as RedactMethod | undefined) ?? 'blur',
          strength: p.strength as number | undefined,
          color: p.color as string | undefined,
          padding: (p.padding as number | undefined) ?? (detections ? 0.1 : 0),
        })
        const { format, options } = outputOf(p, image.info.format)
        const output = await storeImage(job, ctx, job.output, rawPipeline(hidden), format, options)
        await recordOutputs(job, ctx, image.bytes.length, [output])
        return { outputs: [output], result: { image: file.name, regions: regions.length } }
      },
      detections?.image ?? inputName,
    )
  },
}

function isDetections(name: string, contentType: string): boolean {
  return contentType === DETECTIONS_CONTENT_TYPE || name.endsWith(DETECTIONS_SUFFIX)
}

async function readDetections(
  clientId: string,
  file: { name: string; size: number },
  ctx: KindContext,
): Promise<DetectionsFile> {
  if (file.size > MAX_DETECTIONS_BYTES) {
    throw new JobError('E_JOB_REQUEST', `${file.name} is too large to be a detections file`)
  }
  const record = await ctx.files.stat(clientId, file.name)
  const pieces: Uint8Array[] = []
  for await (const piece of ctx.untilCancelled(ctx.files.read(record))) pieces.push(piece)
  return parseDetections(Buffer.concat(pieces))
}
