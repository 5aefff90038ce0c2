import sharp, { type Sharp } from 'sharp'
import { ImageError, imageErrorOf } from './errors.ts'
import type { ImageLimits } from './limits.ts'

/** Formats Piper reads, as sharp names them (`heif` covers AVIF and HEIC). */
const READABLE = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'svg'])

/** What the header says, checked against the limits; width and height as displayed (EXIF). */
export interface ImageInfo {
  format: string
  width: number
  height: number
  frames: number
  /** libvips' interpretation: `srgb`, `b-w`, `cmyk`, … */
  space: string
  channels: number
  hasAlpha: boolean
  /** The EXIF block when the file has one (for `image.stats`). */
  exif?: Buffer
}

/** Decoded pixels, oriented; the buffer is owned by whoever holds the `RawImage`. */
export interface RawImage {
  data: Buffer
  width: number
  height: number
  channels: 1 | 2 | 3 | 4
}

/**
 * One input image of a task: its bytes, its checked header, and its pixels decoded once on
 * first use. Every output of the task is made from those pixels (`pipeline()`), so several
 * sizes or formats cost one decode. With `keepMetadata` outputs are made from the file instead,
 * as raw pixels carry no EXIF or ICC profile.
 */
export class ImageSource {
  readonly bytes: Buffer
  readonly info: ImageInfo
  readonly #limits: ImageLimits
  #raw: Promise<RawImage> | undefined

  private constructor(bytes: Buffer, info: ImageInfo, limits: ImageLimits) {
    this.bytes = bytes
    this.info = info
    this.#limits = limits
  }

  /** Reads the header and checks it: unsupported formats, SVG unless allowed, size limits. */
  static async open(bytes: Buffer, limits: ImageLimits): Promise<ImageSource> {
    if (bytes.length > limits.maxInputBytes) {
      throw new ImageError(
        'E_IMAGE_TOO_LARGE',
        `the image is ${bytes.length} bytes, over the limit of ${limits.maxInputBytes} (maxInputBytes)`,
      )
    }
    let meta: sharp.Metadata
    try {
      meta = await sharp(bytes, { limitInputPixels: false }).metadata()
    } catch (error) {
      throw imageErrorOf(error)
    }
    if (!READABLE.has(meta.format)) {
      throw new ImageError('E_IMAGE_UNSUPPORTED', `${meta.format} images are not supported`)
    }
    if (meta.format === 'svg' && !limits.allowSvg) {
      throw new ImageError('E_IMAGE_UNSUPPORTED', 'SVG input is off (imageAllowSvg)')
    }
    const frames = meta.pages ?? 1
    const width = meta.autoOrient?.width ?? meta.width ?? 0
    const height = meta.autoOrient?.height ?? meta.height ?? 0
    if (width < 1 || height < 1) {
      throw new ImageError('E_IMAGE_CORRUPT', 'the image header gives no size')
    }
    if (frames > limits.maxFrames) {
      throw new ImageError(
        'E_IMAGE_TOO_LARGE',
        `the image has ${frames} frames, over the limit of ${limits.maxFrames} (maxFrames)`,
      )
    }
    // Frames of an animation share the first frame's size in every format sharp reads.
    const pixels = width * (meta.pageHeight ?? height) * frames
    if (pixels > limits.maxInputPixels) {
      throw new ImageError(
        'E_IMAGE_TOO_LARGE',
        `the image has ${pixels} pixels, over the limit of ${limits.maxInputPixels} (maxInputPixels)`,
      )
    }
    const info: ImageInfo = {
      format: meta.format,
      width,
      height,
      frames,
      space: meta.space ?? 'srgb',
      channels: meta.channels ?? 3,
      hasAlpha: meta.hasAlpha ?? false,
      exif: meta.exif,
    }
    return new ImageSource(bytes, info, limits)
  }

  /** A sharp pipeline on the file itself: auto-oriented, limits applied, truncation an error. */
  fromFile(): Sharp {
    return sharp(this.bytes, {
      limitInputPixels: this.#limits.maxInputPixels,
      failOn: 'truncated',
      autoOrient: true,
    })
  }

  /**
   * Decodes once, shrunk to `scale` of the displayed size when every output is at most that
   * large (JPEG and WebP then decode at a fraction of the size, which is most of the speed of
   * a thumbnail). The first call fixes the scale.
   */
  raw(scale = 1): Promise<RawImage> {
    if (!this.#raw) {
      const shrink = Math.min(1, scale)
      let pipeline = this.fromFile()
      if (shrink < 1) {
        pipeline = pipeline.resize({
          width: Math.max(1, Math.round(this.info.width * shrink)),
          height: Math.max(1, Math.round(this.info.height * shrink)),
          fit: 'fill',
        })
      }
      this.#raw = pipeline
        .raw()
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => ({
          data,
          width: info.width,
          height: info.height,
          channels: info.channels as RawImage['channels'],
        }))
        .catch((error: unknown) => {
          throw imageErrorOf(error)
        })
    }
    return this.#raw
  }

  /** A sharp pipeline on the decoded pixels (or on the file, to keep its metadata). */
  async pipeline(options: { keepMetadata?: boolean; scale?: number } = {}): Promise<Sharp> {
    if (options.keepMetadata) return this.fromFile().keepMetadata()
    return rawPipeline(await this.raw(options.scale))
  }
}

/** A sharp pipeline on decoded pixels (which it reads, not copies). */
export function rawPipeline(image: RawImage): Sharp {
  return sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
}

/** Throws `E_IMAGE_TOO_LARGE` when an output would be wider or taller than allowed. */
export function checkOutputSize(width: number, height: number, limits: ImageLimits): void {
  const max = limits.maxOutputDimension
  if (width > max || height > max) {
    throw new ImageError(
      'E_IMAGE_TOO_LARGE',
      `the output would be ${width}×${height}, over the limit of ${max} (maxOutputDimension)`,
    )
  }
}
