import { RESIZE_PARAMS, type ResizeSpec, resize, scaleNeeded } from '../../images/index.ts'
import type { FileRecord } from '../../meta/index.ts'
import { JobError } from '../errors.ts'
import {
  derivedName,
  OUTPUT_PARAMS,
  outputOf,
  recordOutputs,
  storeImage,
  withImage,
} from './image-job.ts'
import type { JobKind } from './job-kind.ts'

/** The presets when a job names none: boxes the image is fitted inside. */
export const DEFAULT_VARIANTS: Record<string, ResizeSpec> = {
  thumb: { width: 160, height: 160, fit: 'inside' },
  small: { width: 480, height: 480, fit: 'inside' },
  large: { width: 1280, height: 1280, fit: 'inside' },
}

const VARIANT_NAME = '^[a-z0-9][a-z0-9_-]{0,31}$'

/**
 * `image.variants`: several sizes (and formats) of one image from one decode, as files under a
 * prefix (`photo.jpg.variants/thumb.webp`, …). The image is decoded once, already shrunk to the
 * largest size any variant needs, and every variant is made from those pixels.
 */
export const imageVariants: JobKind = {
  name: 'image.variants',
  summary: 'named sizes of an image in one pass (default thumb 160, small 480, large 1280)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      variants: {
        type: 'object',
        minProperties: 1,
        maxProperties: 16,
        propertyNames: { pattern: VARIANT_NAME },
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          properties: { ...RESIZE_PARAMS, ...OUTPUT_PARAMS },
        },
      },
      ...OUTPUT_PARAMS,
    },
  },
  checkParams(params, where) {
    const variants = (params.variants ?? {}) as Record<string, ResizeSpec>
    for (const [name, spec] of Object.entries(variants)) {
      if (spec.width === undefined && spec.height === undefined) {
        throw new JobError(
          'E_JOB_REQUEST',
          `image.variants: ${where}.variants.${name}.width or .height is required`,
        )
      }
    }
  },
  inputs: 'one',
  output: 'files',
  defaultOutput: (input) => `${input}.variants/`,
  plan: async () => 'whole',

  async whole(job, ctx) {
    const variants = (job.params.variants ?? DEFAULT_VARIANTS) as Record<
      string,
      ResizeSpec & Record<string, unknown>
    >
    return withImage(job, ctx, async ({ image }) => {
      const { width, height } = image.info
      const keepMetadata = job.params.keepMetadata === true
      const scale = Math.max(
        ...Object.values(variants).map((spec) => scaleNeeded(spec, width, height)),
      )
      const raw = keepMetadata ? image.info : await image.raw(scale)
      const outputs: FileRecord[] = []
      const sizes: Record<string, { format: string; bytes: number }> = {}
      // One at a time: each encode already runs on libuv's threads, and memory stays one output.
      for (const [name, spec] of Object.entries(variants)) {
        const { format, options } = outputOf({ ...job.params, ...spec }, image.info.format)
        const source = await image.pipeline({ keepMetadata })
        const pipeline = resize(source, spec, raw, ctx.images.limits)
        const file = await storeImage(
          job,
          ctx,
          derivedName(`${job.output}${name}`, '', format),
          pipeline,
          format,
          options,
        )
        outputs.push(file)
        sizes[name] = { format, bytes: file.size }
      }
      await recordOutputs(job, ctx, image.bytes.length, outputs)
      return { outputs, result: { variants: sizes } }
    })
  },
}
