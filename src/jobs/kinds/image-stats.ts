import { imageStats as measure } from '../../images/index.ts'
import { indexImage, MEASURING_KIND, withImage } from './image-job.ts'
import type { JobKind } from './job-kind.ts'

/**
 * `image.stats`: dimensions, format, colour space, alpha, per-channel statistics, dominant
 * colour, entropy, sharpness and an EXIF summary (camera, time taken, whether GPS is recorded)
 * as the result, kept for the client's image statistics (`GET /v1/stats/images`).
 */
export const imageStats: JobKind = {
  name: 'image.stats',
  summary: 'dimensions, format, colour statistics, sharpness and EXIF summary of an image',
  ...MEASURING_KIND,

  async whole(job, ctx) {
    return withImage(job, ctx, async ({ file, image }) => {
      const stats = await measure(image)
      await indexImage(job, ctx, file, image, { stats })
      return { result: { ...stats } }
    })
  },
}
