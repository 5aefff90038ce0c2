import sharp, { type OverlayOptions } from 'sharp'
import { type RawImage, rawPipeline } from './image-source.ts'

export const REDACT_METHODS = ['blur', 'pixelate', 'fill'] as const
export type RedactMethod = (typeof REDACT_METHODS)[number]

export interface Region {
  x: number
  y: number
  width: number
  height: number
}

/**
 * Hides regions of an image: each region (grown by `padding` of its size on every side, clipped
 * to the image) is replaced by a Gaussian blur of itself, by blocks of its own average colour,
 * or by a solid colour. Pixels outside every region are unchanged.
 */
export async function redact(
  image: RawImage,
  regions: readonly Region[],
  options: { method: RedactMethod; strength?: number; color?: string; padding?: number },
): Promise<RawImage> {
  const boxes = regions
    .map((r) => grow(r, options.padding ?? 0, image.width, image.height))
    .filter((r) => r.width > 0 && r.height > 0)
  if (boxes.length === 0) return image
  const overlays: OverlayOptions[] = await Promise.all(
    boxes.map(async (box) => {
      const piece = rawPipeline(image).extract({
        left: box.x,
        top: box.y,
        width: box.width,
        height: box.height,
      })
      if (options.method === 'fill') {
        // An opaque PNG tile: composite converts it to the image's colour space.
        const tile = await sharp({
          create: {
            width: box.width,
            height: box.height,
            channels: 4,
            background: options.color ?? '#000000',
          },
        })
          .png()
          .toBuffer()
        return { input: tile, left: box.x, top: box.y }
      }
      let input: Buffer
      if (options.method === 'pixelate') {
        const block = Math.max(
          2,
          Math.round(options.strength ?? Math.max(box.width, box.height) / 8),
        )
        const small = await piece
          .resize({
            width: Math.max(1, Math.round(box.width / block)),
            height: Math.max(1, Math.round(box.height / block)),
            fit: 'fill',
          })
          .raw()
          .toBuffer({ resolveWithObject: true })
        input = await rawPipeline({ ...small.info, data: small.data } as RawImage)
          .resize({ width: box.width, height: box.height, fit: 'fill', kernel: 'nearest' })
          .raw()
          .toBuffer()
      } else {
        // Sigma scales with the region so a large face is as unreadable as a small one.
        const sigma = options.strength ?? Math.max(4, Math.max(box.width, box.height) / 6)
        input = await piece.blur(Math.min(1000, sigma)).raw().toBuffer()
      }
      return {
        input,
        raw: { width: box.width, height: box.height, channels: image.channels },
        left: box.x,
        top: box.y,
      }
    }),
  )
  const { data, info } = await rawPipeline(image)
    .composite(overlays)
    .raw()
    .toBuffer({ resolveWithObject: true })
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage['channels'],
  }
}

function grow(region: Region, padding: number, width: number, height: number): Region {
  const dx = Math.round(region.width * padding)
  const dy = Math.round(region.height * padding)
  const x = Math.max(0, Math.floor(region.x - dx))
  const y = Math.max(0, Math.floor(region.y - dy))
  const right = Math.min(width, Math.ceil(region.x + region.width + dx))
  const bottom = Math.min(height, Math.ceil(region.y + region.height + dy))
  return { x, y, width: Math.max(0, right - x), height: Math.max(0, bottom - y) }
}
