/**
 * Prefix code lengths of at most `maxBits` bits for `freqs`.
 *
 * Huffman lengths (Moffat and Katajainen's in-place algorithm, linear after a sort) are optimal
 * whenever they fit. When the longest exceeds `maxBits`, the overlong codes are folded to
 * `maxBits` and the Kraft sum is repaired as zlib's `gen_bitlen` does (RFC 1951 leaves the
 * method open): each step moves one leaf a level deeper to make room, so the code stays complete
 * and only the rarest symbols pay. It is not the exact optimum (package-merge is, at several
 * times the cost per block), but within a fraction of a percent of it on real blocks, and it
 * keeps the encoder's literal codes at 12 bits affordable (see `MAX_LITERAL_BITS`).
 *
 * Symbols of frequency 0 get length 0, except that at least two symbols always get a code:
 * DEFLATE decoders (zlib's inflate for code-length codes, gzip's for literals) reject a code
 * with one symbol, so we pad with the lowest unused symbols, as zlib's own encoder does.
 */
export function limitedCodeLengths(
  freqs: ArrayLike<number>,
  maxBits: number,
  out: Uint8Array = new Uint8Array(freqs.length),
): Uint8Array {
  const n = freqs.length
  // Sort keys: frequency, then symbol, packed in one float so a typed-array sort does it.
  const keys = new Float64Array(n)
  let m = 0
  for (let s = 0; s < n; s++) if (freqs[s]! > 0) keys[m++] = freqs[s]! * 1024 + s
  for (let s = 0; m < 2 && s < n; s++) if (freqs[s] === 0) keys[m++] = s
  if (m < 2) throw new RangeError('a prefix code needs an alphabet of at least two symbols')
  if (m > 2 ** maxBits) throw new RangeError(`${m} symbols do not fit in codes of ${maxBits} bits`)
  const sorted = keys.subarray(0, m).sort()
  const a = new Float64Array(m)
  for (let i = 0; i < m; i++) a[i] = Math.floor(sorted[i]! / 1024)
  huffmanLengthsInPlace(a)
  if (a[0]! > maxBits) limitLengths(a, maxBits)
  out.fill(0, 0, n)
  for (let i = 0; i < m; i++) out[sorted[i]! % 1024] = a[i]!
  return out
}

/**
 * Lengths `a` (longest first, as `huffmanLengthsInPlace` leaves them) made to fit `maxBits`:
 * codes longer than `maxBits` become `maxBits` long, which overfills the code space (Kraft sum
 * above 1); then, while it is overfull, one code at `maxBits` is removed and a leaf at the
 * deepest level above `maxBits` that has one goes one level down beside it (zlib's trees.c,
 * gen_bitlen). Lengths are dealt back longest first, so the rarest symbols get the longest.
 */
function limitLengths(a: Float64Array, maxBits: number): void {
  const count = new Int32Array(a[0]! + 1)
  for (let i = 0; i < a.length; i++) count[a[i]!]!++
  for (let len = a[0]!; len > maxBits; len--) {
    count[maxBits]! += count[len]!
    count[len] = 0
  }
  let kraft = 0 // in units of 2^-maxBits
  for (let len = 1; len <= maxBits; len++) kraft += count[len]! * 2 ** (maxBits - len)
  for (; kraft > 2 ** maxBits; kraft--) {
    count[maxBits]!--
    for (let len = maxBits - 1; len > 0; len--) {
      if (count[len]! > 0) {
        count[len]!--
        count[len + 1]! += 2
        break
      }
    }
  }
  let i = 0
  for (let len = maxBits; len > 0; len--) for (let k = 0; k < count[len]!; k++) a[i++] = len
}

/**
 * Moffat and Katajainen, "In-place calculation of minimum-redundancy codes" (1995): `a` holds
 * weights in ascending order on entry and their code lengths on return (a[0] the longest).
 */
function huffmanLengthsInPlace(a: Float64Array): void {
  const n = a.length
  a[0]! += a[1]!
  let root = 0
  let leaf = 2
  for (let next = 1; next < n - 1; next++) {
    if (leaf >= n || a[root]! < a[leaf]!) {
      a[next] = a[root]!
      a[root++] = next
    } else {
      a[next] = a[leaf++]!
    }
    if (leaf >= n || (root < next && a[root]! < a[leaf]!)) {
      a[next]! += a[root]!
      a[root++] = next
    } else {
      a[next]! += a[leaf++]!
    }
  }
  a[n - 2] = 0
  for (let next = n - 3; next >= 0; next--) a[next] = a[a[next]!]! + 1
  let available = 1
  let used = 0
  let depth = 0
  root = n - 2
  let next = n - 1
  while (available > 0) {
    while (root >= 0 && a[root] === depth) {
      used++
      root--
    }
    while (available > used) {
      a[next--] = depth
      available--
    }
    available = 2 * used
    depth++
    used = 0
  }
}

/** Σ freq·length: the bits a code of these lengths spends on these frequencies. */
export function codeCost(freqs: ArrayLike<number>, lengths: ArrayLike<number>): number {
  let bits = 0
  for (let s = 0; s < freqs.length; s++) bits += freqs[s]! * lengths[s]!
  return bits
}
