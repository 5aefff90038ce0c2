import { perceptualHashes } from '../../images/index.ts'
import { indexImage, MEASURING_KIND, withImage } from './image-job.ts'
import type { JobKind } from './job-kind.ts'

/**
 * `image.hash`: the image's dHash and pHash (64 bits each, hex) as the result, and its pHash
 * in the near-duplicate index (`GET /v1/files/{name}/duplicates`).
 */
export const imageHash: JobKind = {
  name: 'image.hash',
  summary: 'perceptual hashes (dHash, pHash) of an image, indexed for near-duplicate search',
  ...MEASURING_KIND,

  async whole(job, ctx) {
    return withImage(job, ctx, async ({ file, image }) => {
      const hashes = await perceptualHashes(await image.raw())
      await indexImage(job, ctx, file, image, hashes)
      return { result: { ...hashes } }
    })
  },
}
