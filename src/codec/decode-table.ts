import { CodecError } from './errors.ts'

/**
 * Decode tables for canonical Huffman codes (RFC 1951 §3.2.2), indexed by the next bits of the
 * stream (least-significant bit first, so by bit-reversed codes). Codes longer than the root
 * table's bits continue in subtables, as in zlib's inflate.
 *
 * A literal/length table decodes up to three literals per look-up when their codes fit in the
 * root bits together, which is most look-ups on text: this is what makes the decoder faster than
 * one symbol at a time. Entries are small integers:
 * - literals: sym1 | sym2 << 8 | sym3 << 16 | bits << 24 | count << 28, count 1–3;
 * - any other symbol (end-of-block, lengths): symbol | bits << 24 (count 0);
 * - a long code's prefix: POINTER | subtable offset | subtable bits << 16; subtable entries are
 *   symbol | total bits << 16;
 * - 0: no code starts with these bits (only in the one-code case RFC 1951 allows).
 */
const POINTER = 1 << 20
const COUNT_SHIFT = 28
const MAX_BITS = 15
const LITERAL_LIMIT = 256

export interface DecodeTable {
  table: Int32Array
  rootBits: number
}

/**
 * Room for a root of 9 to 12 bits and the subtables of every code longer than the root: at
 * most 288 of them, of 2^(15 − root bits) entries each (9 bits needs the most).
 */
const TABLE_SIZE = (1 << 9) + 288 * (1 << (MAX_BITS - 9))
const tables = new Map<number, Int32Array>()
/**
 * The literals whose codes fit in the root, by increasing length: symbol | bits << 8 | reversed
 * code << 12, gathered in symbol order into `gathered` and sorted by a counting pass.
 */
const gathered = new Int32Array(LITERAL_LIMIT)
let gatheredCount = 0
const literals = new Int32Array(LITERAL_LIMIT)
const literalsOfLength = new Uint16Array(MAX_BITS + 2)
const count = new Uint16Array(MAX_BITS + 1)
const next = new Uint16Array(MAX_BITS + 2)
/** REVERSED[c] is the 15-bit value `c` bit-reversed; a code of `len` bits reverses to REVERSED[c] >>> (15 - len). */
const REVERSED = new Uint16Array(1 << MAX_BITS)
for (let c = 1; c < REVERSED.length; c++)
  REVERSED[c] = (REVERSED[c >>> 1]! >>> 1) | ((c & 1) << (MAX_BITS - 1))

/**
 * Builds the table of a literal/length code. The table is shared scratch, valid until the next
 * call with the same `rootBits` (one block at a time) unless `keep` asks for a fresh one.
 */
export function literalTable(
  lengths: Uint8Array,
  rootBits: number,
  at: { member: number; offset: number },
  keep = false,
): DecodeTable {
  let table = keep ? undefined : tables.get(rootBits)
  if (!table) {
    table = new Int32Array(TABLE_SIZE)
    if (!keep) tables.set(rootBits, table)
  }
  // Everything but the literals that fit in the root, already in its final form.
  singleTable(lengths, rootBits, table, 'literal/length', at, true)
  groupLiterals(table, rootBits, sortLiterals(rootBits))
  return { table, rootBits }
}

/**
 * Fills the root entries of `table` that start with a literal with up to three literals. They
 * are written by enumerating the sequences of literals that fit in the root bits, shortest
 * codes first, each sequence's entries with one strided fill: every entry is written at most
 * three times, without the unpredictable branches of decoding each entry's bits. (Decoding
 * each entry instead, branchless, was 40% slower on executables' codes.)
 */
function groupLiterals(table: Int32Array, rootBits: number, count: number): void {
  const rootSize = 1 << rootBits
  for (let a = 0; a < count; a++) {
    const first = literals[a]!
    const bits1 = (first >>> 8) & 15
    const code1 = first >>> 12
    fill(table, code1, 1 << bits1, rootSize, (first & 0xff) | (bits1 << 24) | (1 << COUNT_SHIFT))
    for (let b = 0; b < count; b++) {
      const second = literals[b]!
      const bits2 = bits1 + ((second >>> 8) & 15)
      if (bits2 > rootBits) break
      const code2 = code1 | ((second >>> 12) << bits1)
      const pair = (first & 0xff) | ((second & 0xff) << 8)
      fill(table, code2, 1 << bits2, rootSize, pair | (bits2 << 24) | (2 << COUNT_SHIFT))
      for (let c = 0; c < count; c++) {
        const third = literals[c]!
        const bits3 = bits2 + ((third >>> 8) & 15)
        if (bits3 > rootBits) break
        const triple = pair | ((third & 0xff) << 16) | (bits3 << 24) | (3 << COUNT_SHIFT)
        fill(table, code2 | ((third >>> 12) << bits2), 1 << bits3, rootSize, triple)
      }
    }
  }
}

function fill(table: Int32Array, from: number, step: number, end: number, entry: number): void {
  for (let i = from; i < end; i += step) table[i] = entry
}

const codeLengthScratch = new Int32Array(1 << 7)

/**
 * A single-symbol table for the code-length code (§3.2.7), whose codes have at most 7 bits:
 * entries symbol | bits << 16, indexed by the next 7 bits. Shared scratch, valid until the
 * next call (a block's header is read before the next one's).
 */
export function codeLengthTable(
  lengths: Uint8Array,
  at: { member: number; offset: number },
): Int32Array {
  singleTable(lengths, 7, codeLengthScratch, 'code length', at)
  return codeLengthScratch
}

/**
 * Fills `out` with single-symbol entries and subtables; returns the entries used. Rejects
 * over-subscribed codes and incomplete ones, but for a single code of length 1, which RFC 1951
 * §3.2.7 allows for distances and which zlib accepts everywhere.
 */
function singleTable(
  lengths: Uint8Array,
  rootBits: number,
  out: Int32Array,
  what: string,
  at: { member: number; offset: number },
  gatherLiterals = false,
): number {
  count.fill(0)
  let maxLength = 0
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!
    count[len]!++
    if (len > maxLength) maxLength = len
  }
  let left = 1
  for (let len = 1; len <= MAX_BITS; len++) {
    left = (left << 1) - count[len]!
    if (left < 0) throw new CodecError('E_CORRUPT_DATA', `over-subscribed ${what} code`, at)
  }
  const codes = lengths.length - count[0]!
  if (left > 0 && !(codes === 1 && count[1] === 1)) {
    throw new CodecError('E_CORRUPT_DATA', `incomplete ${what} code`, at)
  }
  for (let len = 1, code = 0; len <= MAX_BITS; len++) {
    code = (code + (len === 1 ? 0 : count[len - 1]!)) << 1
    next[len] = code
  }
  const rootSize = 1 << rootBits
  const subBits = maxLength - rootBits
  // A literal/length table keeps a direct entry's length in bits 24–27 (see the top).
  const rootShift = gatherLiterals ? 24 : 16
  out.fill(0, 0, rootSize)
  gatheredCount = 0
  let used = rootSize
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s]!
    if (len === 0) continue
    const reversed = REVERSED[next[len]!++]! >>> (MAX_BITS - len)
    const entry = s | (len << 16)
    if (len <= rootBits) {
      // Literals to be grouped are written by `groupLiterals`, not here.
      if (gatherLiterals && s < LITERAL_LIMIT)
        gathered[gatheredCount++] = s | (len << 8) | (reversed << 12)
      else for (let i = reversed; i < rootSize; i += 1 << len) out[i] = s | (len << rootShift)
      continue
    }
    const prefix = reversed & (rootSize - 1)
    if (out[prefix] === 0) {
      out[prefix] = POINTER | used | (subBits << 16)
      out.fill(0, used, used + (1 << subBits))
      used += 1 << subBits
    }
    const offset = out[prefix]! & 0xffff
    for (let k = reversed >>> rootBits; k < 1 << subBits; k += 1 << (len - rootBits))
      out[offset + k] = entry
  }
  return used
}

/** Sorts the gathered literals by code length into `literals`; returns how many there are. */
function sortLiterals(rootBits: number): number {
  literalsOfLength.fill(0)
  const n = gatheredCount
  for (let k = 0; k < n; k++) literalsOfLength[((gathered[k]! >>> 8) & 15) + 1]!++
  for (let len = 1; len <= rootBits + 1; len++) literalsOfLength[len]! += literalsOfLength[len - 1]!
  for (let k = 0; k < n; k++)
    literals[literalsOfLength[(gathered[k]! >>> 8) & 15]!++] = gathered[k]!
  return n
}
