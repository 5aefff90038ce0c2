/**
 * What an image job may read and write, checked from the file's header before any pixel is
 * decoded (as imgproxy does), so a decompression bomb costs a header read, not the memory.
 */
export interface ImageLimits {
  /** Pixels of the input, every frame summed (width × height × frames). */
  maxInputPixels: number
  /** Frames (pages) of an animated or multi-page input. */
  maxFrames: number
  /** Bytes of the input file. */
  maxInputBytes: number
  /** Width and height of any output. */
  maxOutputDimension: number
  /** SVG input: off by default (an SVG can reference files and expand without bound). */
  allowSvg: boolean
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxInputPixels: 100_000_000,
  maxFrames: 100,
  maxInputBytes: 100 * 1024 * 1024,
  maxOutputDimension: 16_384,
  allowSvg: false,
}
