// Hamming distance and the multi-index of 64-bit hashes (perceptual hashes of images): the
// arithmetic of the image store's band index, and of clustering in `images/`.

/** Bits that differ between two 64-bit hashes in hex. */
export function hammingDistance(a: string, b: string): number {
  return (
    popcount32(parseInt(a.slice(0, 8), 16) ^ parseInt(b.slice(0, 8), 16)) +
    popcount32(parseInt(a.slice(8), 16) ^ parseInt(b.slice(8), 16))
  )
}

export function popcount32(value: number): number {
  let v = value >>> 0
  v -= (v >>> 1) & 0x55555555
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333)
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
}

/** The four 16-bit bands of a 64-bit hash, high to low: the keys of the multi-index. */
export function bandsOf(hash: string): [number, number, number, number] {
  return [0, 4, 8, 12].map((at) => parseInt(hash.slice(at, at + 4), 16)) as [
    number,
    number,
    number,
    number,
  ]
}

/**
 * Every 16-bit value within `bits` bit flips of `band`: the probes of one band in a multi-index
 * lookup (Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index hashing",
 * CVPR 2012). Two hashes within r bits differ by at most ⌊r/4⌋ bits in one of the four bands
 * (pigeonhole), so probing each band within ⌊r/4⌋ finds every match.
 */
export function bandProbes(band: number, bits: number): number[] {
  const out = [band]
  const flip = (value: number, from: number, left: number) => {
    for (let bit = from; bit < 16; bit++) {
      const next = value ^ (1 << bit)
      out.push(next)
      if (left > 1) flip(next, bit + 1, left - 1)
    }
  }
  if (bits > 0) flip(band, 0, bits)
  return out
}
