import { FORMAT_PARAM } from '../../images/index.ts'
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
 * `image.convert`: one image to another format (jpeg, png, webp, avif, gif, tiff) at the same
 * size, with the encoder's quality, effort, lossless and progressive settings.
 */
export const imageConvert: JobKind = {
  name: 'image.convert',
  summary:
    'an image to jpeg, png, webp, avif, gif or tiff (quality, effort, lossless, progressive)',
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['format'],
    properties: { ...OUTPUT_PARAMS, format: FORMAT_PARAM },
  },
  inputs: 'one',
  output: 'file',
  defaultOutput: (input, params) => {
    const name = derivedName(input, '', params.format as string)
    return name === input ? derivedName(input, '.converted', params.format as string) : name
  },
  plan: async () => 'whole',

  async whole(job, ctx) {
    return withImage(job, ctx, async ({ image }) => {
      const { format, options } = outputOf(job.params, image.info.format)
      const pipeline = await image.pipeline({ keepMetadata: job.params.keepMetadata === true })
      const output = await storeImage(job, ctx, job.output, pipeline, format, options)
      await recordOutputs(job, ctx, image.bytes.length, [output])
      return {
        outputs: [output],
        result: { format, bytesIn: image.bytes.length, bytes: output.size },
      }
    })
  },
}
