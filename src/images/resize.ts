import type { Sharp } from 'sharp'
import { checkOutputSize } from './image-source.ts'
import type { ImageLimits } from './limits.ts'

export const FITS = ['cover', 'contain', 'fill', 'inside', 'outside'] as const
export const GRAVITIES = [
  'centre',
  'north',
  'northeast',
  'east',
  'southeast',
  'south',
  'southwest',
  'west',
  'northwest',
  'attention',
  'entropy',
] as const

/** One size to make: `fit` as CSS `object-fit` (sharp's meaning); no enlargement by default. */
export interface ResizeSpec {
  width?: number
  height?: number
  fit?: (typeof FITS)[number]
  gravity?: (typeof GRAVITIES)[number]
  enlarge?: boolean
  /** Fill of `contain`'s borders, a CSS colour. */
  background?: string
}

export const RESIZE_PARAMS = {
  width: { type: 'integer', minimum: 1, maximum: 65_535 },
  height: { type: 'integer', minimum: 1, maximum: 65_535 },
  fit: { enum: [...FITS] },
  gravity: { enum: [...GRAVITIES] },
  enlarge: { type: 'boolean' },
  background: { type: 'string', minLength: 1, maxLength: 64 },
} as const

/** The output's size for a `width × height` input (as sharp computes it), to check limits. */
export function resizedSize(spec: ResizeSpec, width: number, height: number) {
  const fit = spec.fit ?? 'cover'
  const wRatio = spec.width === undefined ? undefined : spec.width / width
  const hRatio = spec.height === undefined ? undefined : spec.height / height
  if (wRatio === undefined || hRatio === undefined) {
    let ratio = (wRatio ?? hRatio)!
    if (!spec.enlarge) ratio = Math.min(1, ratio)
    return {
      width: Math.max(1, Math.round(width * ratio)),
      height: Math.max(1, Math.round(height * ratio)),
    }
  }
  if (fit === 'inside' || fit === 'outside') {
    let ratio = fit === 'inside' ? Math.min(wRatio, hRatio) : Math.max(wRatio, hRatio)
    if (!spec.enlarge) ratio = Math.min(1, ratio)
    return {
      width: Math.max(1, Math.round(width * ratio)),
      height: Math.max(1, Math.round(height * ratio)),
    }
  }
  if (!spec.enlarge && wRatio > 1 && hRatio > 1) return { width, height }
  return { width: spec.width!, height: spec.height! }
}

/** How small the decoded pixels may be and still give this output at full quality. */
export function scaleNeeded(spec: ResizeSpec, width: number, height: number): number {
  const wRatio = spec.width === undefined ? undefined : spec.width / width
  const hRatio = spec.height === undefined ? undefined : spec.height / height
  if (wRatio === undefined || hRatio === undefined) return Math.min(1, (wRatio ?? hRatio)!)
  const fit = spec.fit ?? 'cover'
  const ratio =
    fit === 'inside' || fit === 'contain' ? Math.min(wRatio, hRatio) : Math.max(wRatio, hRatio)
  return Math.min(1, ratio)
}

/** Adds the resize to a pipeline, after checking the output against the limits. */
export function resize(
  image: Sharp,
  spec: ResizeSpec,
  input: { width: number; height: number },
  limits: ImageLimits,
): Sharp {
  const size = resizedSize(spec, input.width, input.height)
  checkOutputSize(size.width, size.height, limits)
  return image.resize({
    width: spec.width,
    height: spec.height,
    fit: spec.fit ?? 'cover',
    position: spec.gravity ?? 'centre',
    withoutEnlargement: !spec.enlarge,
    background: spec.background,
  })
}
