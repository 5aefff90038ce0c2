/**
 * Optimal length-limited prefix code lengths: among all codes with every length ≤ `maxBits`,
 * the lengths minimise Σ freq·length.
 *
 * Unlimited Huffman lengths (Moffat and Katajainen's in-place algorithm, linear after a sort)
 * are optimal whenever they fit, which is nearly always; only when the longest exceeds
 * `maxBits` do we run package-merge (Larmore and Hirschberg, 1990).
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
  const sorted = keys.subarray(0, m).sort()
  const a = new Float64Array(m)
  for (let i = 0; i < m; i++) a[i] = Math.floor(sorted[i]! / 1024)
  huffmanLengthsInPlace(a)
  if (a[0]! > maxBits) return packageMerge(freqs, maxBits, out)
  out.fill(0, 0, n)
  for (let i = 0; i < m; i++) out[sorted[i]! % 1024] = a[i]!
  return out
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

/** Package-merge: optimal lengths under the limit, for the rare inputs that need it. */
function packageMerge(
  freqs: ArrayLike<number>,
  maxBits: number,
  out: Uint8Array = new Uint8Array(freqs.length),
): Uint8Array {
  const n = freqs.length
  out.fill(0, 0, n)
  const symbols: number[] = []
  for (let s = 0; s < n; s++) if (freqs[s]! > 0) symbols.push(s)
  for (let s = 0; symbols.length < 2 && s < n; s++) if (freqs[s] === 0) symbols.push(s)
  const m = symbols.length
  if (m < 2) throw new RangeError('a prefix code needs an alphabet of at least two symbols')
  if (m > 2 ** maxBits) throw new RangeError(`${m} symbols do not fit in codes of ${maxBits} bits`)
  symbols.sort((a, b) => freqs[a]! - freqs[b]! || a - b)
  const leafWeights = symbols.map((s) => freqs[s]!)

  // Lists from the deepest level (maxBits) up to level 1. Each list is the leaves merged with
  // packages (pairs) of the list below, cut to the 2m-2 lightest items, which is all any
  // selection can reach. For each list we keep, per position, whether the item is a leaf.
  const keep = 2 * m - 2
  const isLeaf: Uint8Array[] = new Array(maxBits + 1)
  let weights = leafWeights.slice(0, keep)
  isLeaf[maxBits] = new Uint8Array(weights.length).fill(1)
  for (let level = maxBits - 1; level >= 1; level--) {
    const packages: number[] = []
    for (let i = 0; i + 1 < weights.length; i += 2) packages.push(weights[i]! + weights[i + 1]!)
    const merged: number[] = []
    const leafFlags = new Uint8Array(Math.min(keep, m + packages.length))
    let li = 0
    let pi = 0
    while (merged.length < leafFlags.length) {
      if (pi >= packages.length || (li < m && leafWeights[li]! <= packages[pi]!)) {
        leafFlags[merged.length] = 1
        merged.push(leafWeights[li++]!)
      } else {
        merged.push(packages[pi++]!)
      }
    }
    weights = merged
    isLeaf[level] = leafFlags
  }

  // Select the first 2m-2 items at level 1; a package selected at level j selects its two
  // items at level j+1. The leaves selected at a level are always the lightest ones, so a
  // leaf's code length is the number of levels that select it.
  const depth = new Uint8Array(m)
  let take = keep
  for (let level = 1; level <= maxBits && take > 0; level++) {
    const flags = isLeaf[level]!
    let leaves = 0
    for (let i = 0; i < take; i++) leaves += flags[i]!
    for (let i = 0; i < leaves; i++) depth[i]!++
    take = 2 * (take - leaves)
  }
  for (let i = 0; i < m; i++) out[symbols[i]!] = depth[i]!
  return out
}

/** Σ freq·length: the bits a code of these lengths spends on these frequencies. */
export function codeCost(freqs: ArrayLike<number>, lengths: ArrayLike<number>): number {
  let bits = 0
  for (let s = 0; s < freqs.length; s++) bits += freqs[s]! * lengths[s]!
  return bits
}
