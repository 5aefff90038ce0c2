import { firstAligned } from './word-align.ts'

const EMPTY = new Uint32Array(0)
/** Four interleaved tables, cleared before each use (allocating them cost more than counting). */
const tables = new Uint32Array(1024)

/**
 * Counts byte values in `bytes[start, end)` into `out` (256 entries, added to, not cleared).
 * Reads four bytes per load through a Uint32Array view (byte order does not matter for counts)
 * into four interleaved tables, which avoids the store-to-load stall of incrementing one counter
 * for runs of equal bytes; ~1.5-2x the byte-at-a-time loop.
 */
export function addHistogram(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint32Array,
): void {
  const t = tables.fill(0)
  const i = firstAligned(bytes, start, end)
  countBytes(t, bytes, start, i)
  const words = end > i ? (end - i) >>> 2 : 0
  // An unaligned offset is only possible when no words remain: the view must then not exist.
  const w32 = words > 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset + i, words) : EMPTY
  for (let k = 0; k < words; k++) {
    const w = w32[k]!
    t[w & 255]!++
    t[256 + ((w >>> 8) & 255)]!++
    t[512 + ((w >>> 16) & 255)]!++
    t[768 + (w >>> 24)]!++
  }
  countBytes(t, bytes, i + words * 4, end)
  for (let s = 0; s < 256; s++) out[s]! += t[s]! + t[256 + s]! + t[512 + s]! + t[768 + s]!
}

/** The unaligned ends, a byte at a time (apart, so that the hot loop is compiled alone). */
function countBytes(t: Uint32Array, bytes: Uint8Array, start: number, end: number): void {
  for (let i = start; i < end; i++) t[bytes[i]!]!++
}

/** A fresh 256-entry byte-frequency table of `bytes`. */
export function histogram(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(256)
  addHistogram(bytes, 0, bytes.length, out)
  return out
}

/**
 * The order-0 entropy bound in bits: Σ c·log2(n/c). No prefix code of the block's bytes is
 * shorter.
 */
export function entropyBits(counts: ArrayLike<number>): number {
  let total = 0
  for (let s = 0; s < counts.length; s++) total += counts[s]!
  if (total === 0) return 0
  let bits = total * Math.log2(total)
  for (let s = 0; s < counts.length; s++) {
    const c = counts[s]!
    if (c > 0) bits -= c * Math.log2(c)
  }
  return bits
}
