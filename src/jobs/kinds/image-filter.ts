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

const FILTERS = ['greyscale', 'blur', 'sharpen', 'tint', 'normalise'] as const

/**
 * `image.filter`: colour and focus filters, applied in this order: `normalise` (stretch the
 * luminance to the full range), `greyscale`, `tint` (a CSS colour), `blur` (Gaussian sigma),
 * `sharpen` (sigma of the unsharp mask, or `true` for a mild one).
 */
export const imageFilter: JobKind = {
  name: 'image.filter',
  summary: 'greyscale, blur, sharpen, tint or normalise an image',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      greyscale: { type: 'boolean' },
      blur: { type: 'number', minimum: 0.3, maximum: 1000 },
      sharpen: { anyOf: [{ type: 'boolean' }, { type: 'number', minimum: 0.000001, maximum: 10 }] },
      tint: { type: 'string', minLength: 1, maxLength: 64 },
      normalise: { type: 'boolean' },
      ...OUTPUT_PARAMS,
    },
  },
  checkParams(params, where) {
    if (!FILTERS.some((name) => params[name] !== undefined && params[name] !== false)) {
      throw new JobError(
        'E_JOB_REQUEST',
        `image.filter: ${where} names no filter (one of ${FILTERS.join(', ')})`,
      )
    }
  },
  inputs: 'one',
  output: 'file',
  defaultOutput: (input, params) =>
    derivedName(input, '.filtered', params.format as string | undefined),
  plan: async () => 'whole',

  async whole(job, ctx) {
    const p = job.params
    return withImage(job, ctx, async ({ image }) => {
      const { format, options } = outputOf(p, image.info.format)
      let pipeline = await image.pipeline({ keepMetadata: p.keepMetadata === true })
      if (p.normalise) pipeline = pipeline.normalise()
      if (p.greyscale) pipeline = pipeline.greyscale()
      if (p.tint !== undefined) pipeline = pipeline.tint(p.tint as string)
      if (p.blur !== undefined) pipeline = pipeline.blur(p.blur as number)
      if (p.sharpen === true) pipeline = pipeline.sharpen()
      else if (typeof p.sharpen === 'number') pipeline = pipeline.sharpen({ sigma: p.sharpen })
      const output = await storeImage(job, ctx, job.output, pipeline, format, options)
      await recordOutputs(job, ctx, image.bytes.length, [output])
      return { outputs: [output], result: { format, bytes: output.size } }
    })
  },
}
