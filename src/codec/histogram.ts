/**
 * Counts byte values in `bytes[start, end)` into `out` (256 entries, added to, not cleared).
 * Four interleaved tables avoid the store-to-load stall of incrementing the same counter for
 * runs of equal bytes.
 */
export function addHistogram(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint32Array,
): void {
  const t = new Uint32Array(1024)
  let i = start
  for (const stop = end - 3; i < stop; i += 4) {
    t[bytes[i]!]!++
    t[256 + bytes[i + 1]!]!++
    t[512 + bytes[i + 2]!]!++
    t[768 + bytes[i + 3]!]!++
  }
  for (; i < end; i++) t[bytes[i]!]!++
  for (let s = 0; s < 256; s++) out[s]! += t[s]! + t[256 + s]! + t[512 + s]! + t[768 + s]!
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
