import { imageStats, perceptualHashes } from '../../images/index.ts'
import { indexImage, MEASURING_KIND, withImage } from './image-job.ts'
import type { JobKind } from './job-kind.ts'

/**
 * `image.analyze`: `image.hash` and `image.stats` from one decode. What Piper runs on every
 * image upload when `imageAnalyzeUploads` says so.
 */
export const imageAnalyze: JobKind = {
  name: 'image.analyze',
  summary: 'image.hash and image.stats in one decode (run on uploads when enabled)',
  ...MEASURING_KIND,

  async whole(job, ctx) {
    return withImage(job, ctx, async ({ file, image }) => {
      const [hashes, stats] = await Promise.all([
        perceptualHashes(await image.raw()),
        imageStats(image),
      ])
      await indexImage(job, ctx, file, image, { ...hashes, stats })
      return { result: { ...hashes, ...stats } }
    })
  },
}
