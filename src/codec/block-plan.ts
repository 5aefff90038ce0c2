import { type DynamicHeader, dynamicHeader } from './dynamic-header.ts'
import { addHistogram, entropyBits } from './histogram.ts'
import { codeCost, limitedCodeLengths } from './huffman-lengths.ts'

/**
 * Statistics are gathered per micro-block; blocks are unions of adjacent micro-blocks. 16 KiB
 * follows the shifts in mixed files about as finely as zlib's Huffman-only mode does (~16 KiB
 * blocks) while each block still gets its exact optimal code; 8 KiB made output 0.4% smaller
 * on the cli bench's mix but cost a quarter more planning (twice the micro-blocks to count,
 * estimate and merge, and a third more blocks with a code and header each): ~7% of the whole
 * `piper compress`.
 */
export const MICRO_BLOCK_SIZE = 16384
/** DEFLATE stored blocks hold at most 65,535 bytes (RFC 1951 §3.2.4). */
export const MAX_STORED = 65535
const END_OF_BLOCK = 256
/**
 * Bits charged per block beyond its code lengths: the fixed part of a dynamic header, and the
 * decoder's table build (~10 µs), worth a few hundred bits at the sizes at stake. Measured over
 * the codec bench's files, 500 makes blocks half as many as 70 did (decoding 1.3-1.5x faster on
 * files whose statistics shift, like spreadsheets and executables) for under 0.1% of size.
 */
const BLOCK_COST = 500
/**
 * The longest literal code Piper sends (DEFLATE allows 15). Two codes of at most 12 bits fit the
 * 32-bit accumulator with the 7 bits still pending (7 + 12 + 12 = 31), so the writer's loop
 * stores once per two literals instead of once per literal; limiting 15 to 12 costs real blocks
 * well under 0.1% of their size, only the rarest bytes getting longer codes.
 */
export const MAX_LITERAL_BITS = 12

/**
 * The fixed literal/length code of RFC 1951 §3.2.6. All 288 lengths matter even though Piper
 * sends only 0–256: canonical codes are assigned over the whole alphabet.
 */
export const FIXED_LITERAL_LENGTHS = new Uint8Array(288)
  .fill(8, 0, 144)
  .fill(9, 144, 256)
  .fill(7, 256, 280)
  .fill(8, 280, 288)

export type Block =
  | { kind: 'stored'; start: number; end: number; bits: number }
  | { kind: 'fixed'; start: number; end: number; bits: number }
  | {
      kind: 'dynamic'
      start: number
      end: number
      bits: number
      lengths: Uint8Array
      header: DynamicHeader
    }

/**
 * Cuts `bytes` into DEFLATE blocks. Adjacent micro-blocks are merged greedily, the merge that
 * saves most first, while the estimated cost of one table is lower than that of two; then each
 * block is sent the cheapest way, counted exactly: stored, fixed or dynamic Huffman.
 *
 * `knownHistogram` (the whole input's, e.g. recorded at upload) lets an input that cannot
 * compress go straight to stored blocks without a counting pass.
 */
export function planBlocks(bytes: Uint8Array, knownHistogram?: Uint32Array): Block[] {
  const size = bytes.length
  if (size === 0) return [exactBlock(0, 0, new Uint32Array(256))]
  if (knownHistogram && entropyBits(knownHistogram) >= 8 * size - 64) {
    return [{ kind: 'stored', start: 0, end: size, bits: storedBits(size) }]
  }

  // Segment k starts as micro-block k; a merged segment keeps the lower index and its
  // histogram, and the segments still alive form a list through `next` and `prev`.
  const n = Math.ceil(size / MICRO_BLOCK_SIZE)
  const counts = new Uint32Array(n * 256)
  const cost = new Float64Array(n)
  const gain = new Float64Array(n)
  const next = new Int32Array(n)
  const prev = new Int32Array(n)
  for (let k = 0; k < n; k++) {
    const h = counts.subarray(k * 256, k * 256 + 256)
    addHistogram(bytes, k * MICRO_BLOCK_SIZE, Math.min(size, (k + 1) * MICRO_BLOCK_SIZE), h)
    cost[k] = estimatedBits(counts, k, -1)
    next[k] = k + 1 < n ? k + 1 : -1
    prev[k] = k - 1
  }
  // gain[k]: bits saved by merging segment k with the next one. The merges to try are kept in a
  // heap (largest gain first, ties to the earlier segment: the order a scan of the list gives);
  // an entry is stale once its segment's gain was recomputed or the segment merged away.
  const gainAt = (k: number) => {
    const j = next[k]!
    return j < 0 ? 0 : cost[k]! + cost[j]! - estimatedBits(counts, k, j)
  }
  const merges = new MergeHeap(n)
  for (let k = 0; k < n; k++) {
    gain[k] = gainAt(k)
    if (gain[k]! > 0) merges.push(gain[k]!, k)
  }
  const alive = new Uint8Array(n).fill(1)
  for (;;) {
    const best = merges.popBest(gain, alive)
    if (best < 0) break
    const other = next[best]!
    for (let s = 0; s < 256; s++) counts[best * 256 + s]! += counts[other * 256 + s]!
    cost[best] = cost[best]! + cost[other]! - gain[best]!
    alive[other] = 0
    next[best] = next[other]!
    if (next[best]! >= 0) prev[next[best]!] = best
    gain[best] = gainAt(best)
    if (gain[best]! > 0) merges.push(gain[best]!, best)
    const before = prev[best]!
    if (before >= 0) {
      gain[before] = gainAt(before)
      if (gain[before]! > 0) merges.push(gain[before]!, before)
    }
  }

  const blocks: Block[] = []
  for (let k = 0; k >= 0; k = next[k]!) {
    const end = next[k]! >= 0 ? next[k]! * MICRO_BLOCK_SIZE : size
    blocks.push(exactBlock(k * MICRO_BLOCK_SIZE, end, counts.subarray(k * 256, k * 256 + 256)))
  }
  return blocks
}

/** c·log2(c) for the counts of up to 4 micro-blocks; larger counts compute it. */
const CLOG_SIZE = 1 << 16
const CLOG = new Float32Array(CLOG_SIZE)
for (let c = 1; c < CLOG_SIZE; c++) CLOG[c] = c * Math.log2(c)

function clog(c: number): number {
  return c < CLOG_SIZE ? CLOG[c]! : c * Math.log2(c)
}

/**
 * A quick estimate of a dynamic block's size for segment `a`'s histogram in `counts`, or the
 * union of segments `a` and `b` (b ≥ 0): the entropy bound, T·log2 T − Σ c·log2 c, with every
 * symbol costing at least one bit (as in any prefix code), plus a header of about 4 bits per
 * symbol in use and a fixed cost per block (see BLOCK_COST).
 */
function estimatedBits(counts: Uint32Array, a: number, b: number): number {
  const x = a * 256
  const y = b * 256
  let total = 0
  let used = 0
  let sum = 0
  let top = 0
  for (let s = 0; s < 256; s++) {
    const c = b < 0 ? counts[x + s]! : counts[x + s]! + counts[y + s]!
    if (c === 0) continue
    total += c
    used++
    sum += clog(c)
    if (c > top) top = c
  }
  let bits = clog(total) - sum
  // Only a symbol of probability over 1/2 has an entropy below one bit.
  if (2 * top > total) bits += top * (1 - Math.log2(total / top))
  return bits + BLOCK_COST + 3.7 * used
}

/** Bits of stored blocks for `size` bytes, counting the worst-case padding of each. */
export function storedBits(size: number): number {
  const pieces = Math.max(1, Math.ceil(size / MAX_STORED))
  return pieces * (3 + 7 + 32) + 8 * size
}

function exactBlock(start: number, end: number, h: Uint32Array): Block {
  const freqs = new Uint32Array(257)
  freqs.set(h)
  freqs[END_OF_BLOCK] = 1
  const fixed = 3 + codeCost(freqs, FIXED_LITERAL_LENGTHS)
  const stored = storedBits(end - start)
  const lengths = limitedCodeLengths(freqs, MAX_LITERAL_BITS)
  const header = dynamicHeader(lengths)
  const dynamic = header.bits + codeCost(freqs, lengths)
  if (dynamic <= fixed && dynamic < stored)
    return { kind: 'dynamic', start, end, bits: dynamic, lengths, header }
  if (fixed < stored) return { kind: 'fixed', start, end, bits: fixed }
  return { kind: 'stored', start, end, bits: stored }
}

/**
 * A max-heap of (gain, segment) for the planner's merges, largest gain first and, among equal
 * gains, the lowest segment (the earliest in the file). Entries are not removed when a gain
 * changes: `popBest` drops those whose gain is no longer the segment's (or whose segment is
 * gone), so each merge costs O(log n) instead of a scan of every segment.
 */
class MergeHeap {
  #gains: Float64Array
  #segments: Int32Array
  #size = 0

  constructor(n: number) {
    this.#gains = new Float64Array(Math.max(16, 3 * n))
    this.#segments = new Int32Array(this.#gains.length)
  }

  push(gain: number, segment: number): void {
    if (this.#size === this.#gains.length) this.#grow()
    let i = this.#size++
    while (i > 0) {
      const up = (i - 1) >> 1
      if (!this.#before(gain, segment, this.#gains[up]!, this.#segments[up]!)) break
      this.#gains[i] = this.#gains[up]!
      this.#segments[i] = this.#segments[up]!
      i = up
    }
    this.#gains[i] = gain
    this.#segments[i] = segment
  }

  /** The segment of the best current merge (its gain positive), or -1 when there is none. */
  popBest(gain: Float64Array, alive: Uint8Array): number {
    while (this.#size > 0) {
      const g = this.#gains[0]!
      const k = this.#segments[0]!
      this.#pop()
      if (alive[k] && gain[k] === g) return k
    }
    return -1
  }

  #before(g1: number, k1: number, g2: number, k2: number): boolean {
    return g1 > g2 || (g1 === g2 && k1 < k2)
  }

  #pop(): void {
    const last = --this.#size
    const g = this.#gains[last]!
    const k = this.#segments[last]!
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= last) break
      const r = l + 1
      const c =
        r < last &&
        this.#before(this.#gains[r]!, this.#segments[r]!, this.#gains[l]!, this.#segments[l]!)
          ? r
          : l
      if (!this.#before(this.#gains[c]!, this.#segments[c]!, g, k)) break
      this.#gains[i] = this.#gains[c]!
      this.#segments[i] = this.#segments[c]!
      i = c
    }
    this.#gains[i] = g
    this.#segments[i] = k
  }

  #grow(): void {
    const gains = new Float64Array(this.#gains.length * 2)
    const segments = new Int32Array(gains.length)
    gains.set(this.#gains)
    segments.set(this.#segments)
    this.#gains = gains
    this.#segments = segments
  }
}
