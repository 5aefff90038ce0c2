import type { Sharp } from 'sharp'

/** Formats Piper writes, with their content types and usual extension. */
export const OUTPUT_FORMATS = {
  jpeg: { contentType: 'image/jpeg', ext: '.jpg' },
  png: { contentType: 'image/png', ext: '.png' },
  webp: { contentType: 'image/webp', ext: '.webp' },
  avif: { contentType: 'image/avif', ext: '.avif' },
  gif: { contentType: 'image/gif', ext: '.gif' },
  tiff: { contentType: 'image/tiff', ext: '.tiff' },
} as const

export type OutputFormat = keyof typeof OUTPUT_FORMATS

/** Encoder settings a kind's params may give (each format takes those it knows). */
export interface EncodeOptions {
  quality?: number
  /** CPU spent on compression: 0–9 for AVIF, 0–6 for WebP, 1–10 for GIF, 0–9 zlib level for PNG. */
  effort?: number
  lossless?: boolean
  progressive?: boolean
}

/** The JSON Schema of `EncodeOptions`, shared by every kind that writes images. */
export const ENCODE_PARAMS = {
  quality: { type: 'integer', minimum: 1, maximum: 100 },
  effort: { type: 'integer', minimum: 0, maximum: 10 },
  lossless: { type: 'boolean' },
  progressive: { type: 'boolean' },
} as const

export const FORMAT_PARAM = { enum: Object.keys(OUTPUT_FORMATS) } as const

/** The format an output keeps when none is asked for: the input's, where Piper writes it. */
export function outputFormatFor(inputFormat: string, asked?: string): OutputFormat {
  if (asked) return asked as OutputFormat
  if (inputFormat === 'heif') return 'avif'
  return inputFormat in OUTPUT_FORMATS ? (inputFormat as OutputFormat) : 'png'
}

/** Sets the encoder on a pipeline; each setting maps to the one the format has. */
export function encode(image: Sharp, format: OutputFormat, options: EncodeOptions = {}): Sharp {
  const { quality, lossless, progressive } = options
  const effort = options.effort
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality, progressive, mozjpeg: false })
    case 'png':
      return image.png({
        progressive,
        compressionLevel: effort === undefined ? undefined : Math.min(9, effort),
        quality: lossless === false ? quality : undefined,
        palette: lossless === false,
      })
    case 'webp':
      return image.webp({
        quality,
        lossless,
        effort: effort === undefined ? undefined : Math.min(6, effort),
      })
    case 'avif':
      return image.avif({
        quality,
        lossless,
        effort: effort === undefined ? undefined : Math.min(9, effort),
      })
    case 'gif':
      return image.gif({ effort: effort === undefined ? undefined : Math.max(1, effort) })
    case 'tiff':
      return image.tiff({ quality, compression: lossless === false ? 'jpeg' : 'lzw' })
  }
}

/** `photo.jpg` → `photo.webp`: the name with the output format's extension. */
export function withExtension(name: string, format: OutputFormat, suffix = ''): string {
  const slash = name.lastIndexOf('/')
  const dot = name.lastIndexOf('.')
  const stem = dot > slash + 1 ? name.slice(0, dot) : name
  return `${stem}${suffix}${OUTPUT_FORMATS[format].ext}`
}
