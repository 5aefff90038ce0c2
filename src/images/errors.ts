/** Stable codes of the images module; `docs/errors.md` lists them. */
export type ImageErrorCode = 'E_IMAGE_CORRUPT' | 'E_IMAGE_UNSUPPORTED' | 'E_IMAGE_TOO_LARGE'

/** An image that cannot be processed as asked; retrying would fail the same way. */
export class ImageError extends Error {
  readonly code: ImageErrorCode

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ImageError'
    this.code = code
  }
}

/**
 * libvips' message for a decode failure, as one of ours. Its wording is the only signal sharp
 * gives: an unknown format, a pixel limit, or anything else (bad or cut-off data).
 */
export function imageErrorOf(error: unknown): ImageError {
  if (error instanceof ImageError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (/unsupported image format|is not a known|not in a supported format/i.test(message)) {
    return new ImageError('E_IMAGE_UNSUPPORTED', `not an image Piper reads: ${message}`, {
      cause: error,
    })
  }
  if (/pixel limit|exceeds.*limit/i.test(message)) {
    return new ImageError('E_IMAGE_TOO_LARGE', message, { cause: error })
  }
  return new ImageError('E_IMAGE_CORRUPT', `the image cannot be decoded: ${message}`, {
    cause: error,
  })
}
