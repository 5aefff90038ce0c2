import exifReader from 'exif-reader'
import sharp from 'sharp'
import type { ImageSource } from './image-source.ts'

/** What `image.stats` reports of an image. */
export interface ImageStats {
  format: string
  width: number
  height: number
  frames: number
  bytes: number
  space: string
  alpha: boolean
  opaque: boolean
  channels: { mean: number; stdev: number; min: number; max: number }[]
  dominant: string
  /** Shannon entropy of the grey histogram, in bits (0–8). */
  entropy: number
  /** Standard deviation of the Laplacian of the grey image: higher is sharper. */
  sharpness: number
  exif: ExifSummary | null
}

export interface ExifSummary {
  camera?: string
  takenAt?: string
  gps: boolean
  orientation?: number
}

export async function imageStats(source: ImageSource): Promise<ImageStats> {
  const raw = await source.raw()
  const stats = await sharp(raw.data, {
    raw: { width: raw.width, height: raw.height, channels: raw.channels },
  }).stats()
  const { r, g, b } = stats.dominant
  const round = (n: number) => Math.round(n * 1000) / 1000
  return {
    format: source.info.format,
    width: source.info.width,
    height: source.info.height,
    frames: source.info.frames,
    bytes: source.bytes.length,
    space: source.info.space,
    alpha: source.info.hasAlpha,
    opaque: stats.isOpaque,
    channels: stats.channels.map((c) => ({
      mean: round(c.mean),
      stdev: round(c.stdev),
      min: c.min,
      max: c.max,
    })),
    dominant: `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('')}`,
    entropy: round(stats.entropy),
    sharpness: round(stats.sharpness),
    exif: exifSummary(source.info.exif),
  }
}

/** Camera, time taken and whether a position is recorded; a damaged EXIF block is ignored. */
export function exifSummary(block: Buffer | undefined): ExifSummary | null {
  if (!block) return null
  let exif: ReturnType<typeof exifReader>
  try {
    exif = exifReader(block)
  } catch {
    return null
  }
  const make = typeof exif.Image?.Make === 'string' ? exif.Image.Make.trim() : ''
  const model = typeof exif.Image?.Model === 'string' ? exif.Image.Model.trim() : ''
  const camera = model.startsWith(make) ? model : `${make} ${model}`.trim()
  const taken = exif.Photo?.DateTimeOriginal ?? exif.Image?.DateTime
  const summary: ExifSummary = { gps: exif.GPSInfo?.GPSLatitude !== undefined }
  if (camera) summary.camera = camera
  if (taken instanceof Date && !Number.isNaN(taken.getTime())) summary.takenAt = taken.toISOString()
  if (typeof exif.Image?.Orientation === 'number') summary.orientation = exif.Image.Orientation
  return summary
}
