/** Sizes of images counted apart, by bytes: each class holds sizes below its bound. */
const SIZE_CLASSES: readonly [bound: number, name: string][] = [
  [100_000, 'under_100kb'],
  [1_000_000, '100kb_to_1mb'],
  [10_000_000, '1mb_to_10mb'],
  [Number.POSITIVE_INFINITY, 'over_10mb'],
]

/** The names of the size classes, smallest first. */
export const IMAGE_SIZE_CLASSES = SIZE_CLASSES.map(([, name]) => name)

/**
 * The image format a content type names (`image/jpeg` → `jpeg`, `image/svg+xml` → `svg`,
 * `image/x-icon` → `icon`), or undefined when it is not an image. The result is safe as part of a
 * metric name (lowercase letters, digits and `-`).
 */
export function imageFormat(contentType: string): string | undefined {
  const match = /^\s*image\/([^;\s]+)/i.exec(contentType)
  if (!match) return undefined
  const format = match[1]!
    .toLowerCase()
    .replace(/^(x-|vnd\.)/, '')
    .replace(/\+xml$/, '')
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 32)
  return format === '' ? undefined : format === 'jpg' ? 'jpeg' : format
}

/** The size class of an image of `bytes`. */
export function imageSizeClass(bytes: number): string {
  return SIZE_CLASSES.find(([bound]) => bytes < bound)![1]
}
