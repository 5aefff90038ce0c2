import { RESIZE_PARAMS, type ResizeSpec, resize, scaleNeeded } from '../../images/index.ts'
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

/**
 * `image.resize`: one image to one size. `fit` is CSS `object-fit` (cover, contain, fill,
 * inside, outside); `gravity` picks what a crop keeps, `attention` and `entropy` included; an
 * image is not enlarged unless `enlarge` is set. The output keeps the input's format unless
 * `format` names another.
 */
export const imageResize: JobKind = {
  name: 'image.resize',
  summary: 'one image to one size (fit, gravity incl. attention; no enlargement by default)',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: { ...RESIZE_PARAMS, ...OUTPUT_PARAMS },
  },
  checkParams(params, where) {
    if (params.width === undefined && params.height === undefined) {
      throw new JobError(
        'E_JOB_REQUEST',
        `image.resize: ${where}.width or ${where}.height is required`,
      )
    }
  },
  inputs: 'one',
  output: 'file',
  defaultOutput: (input, params) =>
    derivedName(
      input,
      `-${params.width ?? ''}x${params.height ?? ''}`,
      params.format as string | undefined,
    ),
  plan: async () => 'whole',

  async whole(job, ctx) {
    const spec = job.params as ResizeSpec
    return withImage(job, ctx, async ({ image }) => {
      const { format, options } = outputOf(job.params, image.info.format)
      const keepMetadata = job.params.keepMetadata === true
      const scale = scaleNeeded(spec, image.info.width, image.info.height)
      const source = await image.pipeline({ keepMetadata, scale })
      const raw = keepMetadata ? image.info : await image.raw()
      const pipeline = resize(source, spec, raw, ctx.images.limits)
      const output = await storeImage(job, ctx, job.output, pipeline, format, options)
      await recordOutputs(job, ctx, image.bytes.length, [output])
      return { outputs: [output], result: { format, bytes: output.size } }
    })
  },
}
