import sharp from 'sharp'
import type { RawImage } from './image-source.ts'

/**
 * Perceptual hashes of an image: 64 bits each, as 16 lowercase hex digits, so similar images
 * have hashes a few bits apart (Hamming distance).
 * - dHash: the image as 9 × 8 grey pixels; bit i says whether a pixel is darker than its right
 *   neighbour (Krawetz, "Kind of like that", 2013).
 * - pHash: the image as 32 × 32 grey pixels, its 2-D DCT-II, the 8 × 8 lowest frequencies; bit
 *   i says whether coefficient i is above their median (as Python's `imagehash.phash`).
 */
export interface PerceptualHashes {
  dhash: string
  phash: string
}

export async function perceptualHashes(image: RawImage): Promise<PerceptualHashes> {
  const grey = (width: number, height: number) =>
    sharp(image.data, {
      raw: { width: image.width, height: image.height, channels: image.channels },
    })
      .flatten({ background: '#ffffff' })
      .greyscale()
      .resize({ width, height, fit: 'fill' })
      .raw()
      .toBuffer()
  const [small, large] = await Promise.all([grey(9, 8), grey(32, 32)])
  return { dhash: dhashOf(small), phash: phashOf(large) }
}

/** dHash of 9 × 8 grey pixels, row by row. */
export function dhashOf(pixels: Uint8Array): string {
  const bits: boolean[] = []
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) bits.push(pixels[y * 9 + x]! < pixels[y * 9 + x + 1]!)
  }
  return hexOfBits(bits)
}

const N = 32
/** cos((2x + 1) u π / 2N), the DCT-II basis, computed once. */
const BASIS = (() => {
  const table = new Float64Array(8 * N)
  for (let u = 0; u < 8; u++) {
    for (let x = 0; x < N; x++) table[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N))
  }
  return table
})()

/** pHash of 32 × 32 grey pixels: only the 8 × 8 low frequencies of the DCT are computed. */
export function phashOf(pixels: Uint8Array): string {
  // Rows first (8 coefficients per row), then columns of that (8 × 8).
  const rows = new Float64Array(N * 8)
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0
      for (let x = 0; x < N; x++) sum += pixels[y * N + x]! * BASIS[u * N + x]!
      rows[y * 8 + u] = sum
    }
  }
  const low = new Float64Array(64)
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0
      for (let y = 0; y < N; y++) sum += rows[y * 8 + u]! * BASIS[v * N + y]!
      low[v * 8 + u] = sum
    }
  }
  const sorted = [...low].sort((a, b) => a - b)
  const median = (sorted[31]! + sorted[32]!) / 2
  return hexOfBits([...low].map((c) => c > median))
}

function hexOfBits(bits: boolean[]): string {
  let hex = ''
  for (let i = 0; i < 64; i += 4) {
    hex += (
      (+bits[i]! << 3) |
      (+bits[i + 1]! << 2) |
      (+bits[i + 2]! << 1) |
      +bits[i + 3]!
    ).toString(16)
  }
  return hex
}
