import { type DynamicHeader, dynamicHeader } from './dynamic-header.ts'
import { addHistogram, entropyBits } from './histogram.ts'
import { codeCost, limitedCodeLengths } from './huffman-lengths.ts'

/**
 * Statistics are gathered per micro-block; blocks are unions of adjacent micro-blocks. 8 KiB is
 * fine enough to follow the shifts in mixed files (zlib's Huffman-only mode makes ~16 KiB
 * blocks) and coarse enough that counting and planning stay cheap.
 */
export const MICRO_BLOCK_SIZE = 8192
/** DEFLATE stored blocks hold at most 65,535 bytes (RFC 1951 §3.2.4). */
export const MAX_STORED = 65535
const END_OF_BLOCK = 256

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

  const starts: number[] = []
  const hists: Uint32Array[] = []
  for (let start = 0; start < size; start += MICRO_BLOCK_SIZE) {
    const h = new Uint32Array(256)
    addHistogram(bytes, start, Math.min(size, start + MICRO_BLOCK_SIZE), h)
    starts.push(start)
    hists.push(h)
  }
  const costs = hists.map(estimatedBits)
  // gains[i]: bits saved by merging segment i with segment i+1.
  const gains: number[] = []
  for (let i = 0; i + 1 < hists.length; i++) gains.push(mergeGain(hists, costs, i))

  for (;;) {
    let best = -1
    for (let i = 0; i < gains.length; i++)
      if (gains[i]! > 0 && (best < 0 || gains[i]! > gains[best]!)) best = i
    if (best < 0) break
    const merged = hists[best]!
    const other = hists[best + 1]!
    for (let s = 0; s < 256; s++) merged[s]! += other[s]!
    costs[best] = estimatedBits(merged)
    hists.splice(best + 1, 1)
    costs.splice(best + 1, 1)
    starts.splice(best + 1, 1)
    gains.splice(best, 1)
    if (best > 0) gains[best - 1] = mergeGain(hists, costs, best - 1)
    if (best < gains.length) gains[best] = mergeGain(hists, costs, best)
  }

  return hists.map((h, i) => exactBlock(starts[i]!, starts[i + 1] ?? size, h))
}

/** Scratch for `mergeGain`, which runs a few hundred times per chunk. */
const union = new Uint32Array(256)

function mergeGain(hists: Uint32Array[], costs: number[], i: number): number {
  const a = hists[i]!
  const b = hists[i + 1]!
  for (let s = 0; s < 256; s++) union[s] = a[s]! + b[s]!
  return costs[i]! + costs[i + 1]! - estimatedBits(union)
}

/**
 * A quick estimate of a dynamic block's size: the entropy bound with every symbol costing at
 * least one bit (as in any prefix code), plus a header of about 4 bits per symbol in use.
 */
function estimatedBits(h: Uint32Array): number {
  let total = 0
  let used = 0
  for (let s = 0; s < 256; s++) {
    total += h[s]!
    if (h[s]! > 0) used++
  }
  let bits = 0
  const log2Total = Math.log2(total)
  for (let s = 0; s < 256; s++) {
    const c = h[s]!
    if (c > 0) bits += c * Math.max(1, log2Total - Math.log2(c))
  }
  return bits + 70 + 3.7 * used
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
  const lengths = limitedCodeLengths(freqs, 15)
  const header = dynamicHeader(lengths)
  const dynamic = header.bits + codeCost(freqs, lengths)
  if (dynamic <= fixed && dynamic < stored)
    return { kind: 'dynamic', start, end, bits: dynamic, lengths, header }
  if (fixed < stored) return { kind: 'fixed', start, end, bits: fixed }
  return { kind: 'stored', start, end, bits: stored }
}
