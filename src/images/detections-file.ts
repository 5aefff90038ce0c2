import type { Detection } from './detector.ts'
import { ImageError } from './errors.ts'

export const DETECTIONS_CONTENT_TYPE = 'application/vnd.piper.detections+json'
export const DETECTIONS_SUFFIX = '.detections.json'

/**
 * What `image.detect` writes beside an image: which image (by name and content), its size as
 * displayed, and what was found in it. `image.redact` reads it to hide those regions, so a
 * detect → redact chain needs no second parent.
 */
export interface DetectionsFile {
  image: string
  sha256: string
  width: number
  height: number
  model: string
  detections: Detection[]
}

/** Reads a detections file; anything else is `E_IMAGE_UNSUPPORTED` saying what is wrong. */
export function parseDetections(bytes: Uint8Array): DetectionsFile {
  const bad = (why: string) =>
    new ImageError('E_IMAGE_UNSUPPORTED', `not a detections file from image.detect: ${why}`)
  let doc: unknown
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw bad('not JSON')
  }
  if (typeof doc !== 'object' || doc === null) throw bad('not an object')
  const d = doc as Record<string, unknown>
  if (typeof d.image !== 'string' || d.image.length === 0) throw bad('image is not a name')
  if (typeof d.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d.sha256))
    throw bad('sha256 is not a hash')
  if (!isCount(d.width) || !isCount(d.height))
    throw bad('width and height must be positive integers')
  if (!Array.isArray(d.detections) || d.detections.length > 10_000)
    throw bad('detections is not a list')
  const detections = d.detections.map((item: unknown, i: number): Detection => {
    const det = item as Record<string, unknown> | null
    const box = det?.box as Record<string, unknown> | undefined
    if (
      typeof det?.label !== 'string' ||
      typeof det.score !== 'number' ||
      !box ||
      ![box.x, box.y, box.width, box.height].every(
        (n) => typeof n === 'number' && Number.isFinite(n) && n >= 0,
      )
    ) {
      throw bad(`detections[${i}] is not {label, score, box: {x, y, width, height}}`)
    }
    return {
      label: det.label,
      score: det.score,
      box: {
        x: box.x as number,
        y: box.y as number,
        width: box.width as number,
        height: box.height as number,
      },
    }
  })
  return {
    image: d.image,
    sha256: d.sha256,
    width: d.width as number,
    height: d.height as number,
    model: typeof d.model === 'string' ? d.model : '',
    detections,
  }
}

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) > 0
}
