/** Bytes of a file's start that `sniffImageType` needs. */
export const SNIFF_BYTES = 16

const ascii = (head: Uint8Array, at: number, text: string) =>
  head.length >= at + text.length && [...text].every((c, i) => head[at + i] === c.charCodeAt(0))

/**
 * The image type a file's first bytes announce (their magic numbers, as the formats' own
 * specifications give them), or undefined. Only raster formats that are never active content:
 * a type found here is safe to serve as what it says.
 */
export function sniffImageType(head: Uint8Array): string | undefined {
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg'
  if (ascii(head, 0, '\x89PNG\r\n\x1a\n')) return 'image/png'
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return 'image/gif'
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return 'image/webp'
  // ISO base media files (ISO/IEC 14496-12): a `ftyp` box whose major brand names the format.
  if (ascii(head, 4, 'ftypavif') || ascii(head, 4, 'ftypavis')) return 'image/avif'
  if (ascii(head, 4, 'ftypheic') || ascii(head, 4, 'ftypheix')) return 'image/heic'
  if (ascii(head, 0, 'II*\0') || ascii(head, 0, 'MM\0*')) return 'image/tiff'
  return undefined
}

/** Content types that say nothing of the bytes (a client that did not know, or `curl -d`). */
const UNSAID = new Set(['', 'application/octet-stream', 'application/x-www-form-urlencoded'])

/** The type to store: the client's, unless it said nothing and the bytes are an image. */
export function contentTypeOf(given: string | undefined, head: Uint8Array): string {
  const bare = (given ?? '').split(';')[0]!.trim().toLowerCase()
  if (!UNSAID.has(bare)) return given!
  return sniffImageType(head) ?? 'application/octet-stream'
}
