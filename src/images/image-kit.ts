import type { FileService } from '../files/index.ts'
import type { FileRecord, ImageStore } from '../meta/index.ts'
import type { Detector } from './detector.ts'
import { ImageError } from './errors.ts'
import { ImageSource } from './image-source.ts'
import type { ImageLimits } from './limits.ts'
import type { Slots } from './slots.ts'

/** What image kinds use besides files: the limits, the detector threads and the image index. */
export interface ImageKit {
  limits: ImageLimits
  detector: Detector
  store: ImageStore
  /** Images held at once by this process's image tasks (each up to `maxInputBytes` and its pixels). */
  slots: Slots
}

/**
 * Reads one stored file as an image: its size is checked before a byte is read, its bytes are
 * checked chunk by chunk against their hashes as they arrive, then its header.
 */
export async function readImage(
  files: FileService,
  file: FileRecord,
  limits: ImageLimits,
  source: (bytes: AsyncIterable<Uint8Array>) => AsyncIterable<Uint8Array> = (bytes) => bytes,
): Promise<ImageSource> {
  if (file.size > limits.maxInputBytes) {
    throw new ImageError(
      'E_IMAGE_TOO_LARGE',
      `${file.name} is ${file.size} bytes, over the limit of ${limits.maxInputBytes} (maxInputBytes)`,
    )
  }
  const bytes = Buffer.allocUnsafe(file.size)
  let at = 0
  for await (const piece of source(files.read(file))) {
    bytes.set(piece, at)
    at += piece.length
  }
  return ImageSource.open(bytes.subarray(0, at), limits)
}
