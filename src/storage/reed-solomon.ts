import { type SimdKernel, simdKernel } from './gf-simd.ts'

/**
 * Reed–Solomon erasure coding over GF(2^8) (polynomial x^8 + x^4 + x^3 + x^2 + 1, 0x11d, as in
 * RAID 6 and most erasure-code libraries), systematic: the first k shards are the data as is,
 * the m parity shards are rows of a Cauchy matrix times the data, so ANY k of the k + m shards
 * rebuild the data (every square submatrix of [I; C] is invertible).
 *
 * The arithmetic runs in WebAssembly SIMD (`gf-simd.ts`) where it can, else in plain
 * table-driven JavaScript (one 256-entry product table per coefficient); both give the same
 * bytes, and the tests hold the first to the second.
 */

const EXP = new Uint8Array(512)
const LOG = new Uint8Array(256)
{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    LOG[x] = i
    x <<= 1
    if (x & 0x100) x ^= 0x11d
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!
}

export function gfInv(a: number): number {
  if (a === 0) throw new Error('0 has no inverse in GF(2^8)')
  return EXP[255 - LOG[a]!]!
}

/** The 256 products of `c` with every byte. */
function productTable(c: number): Uint8Array {
  const table = new Uint8Array(256)
  for (let b = 0; b < 256; b++) table[b] = gfMul(c, b)
  return table
}

/** Inverts a square matrix over GF(2^8) by Gauss–Jordan elimination. */
export function invert(matrix: number[][]): number[][] {
  const n = matrix.length
  const a = matrix.map((row, i) => [
    ...row,
    ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  ])
  for (let col = 0; col < n; col++) {
    const pivot = a.findIndex((row, r) => r >= col && row[col] !== 0)
    if (pivot < 0) throw new Error('singular matrix')
    ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
    const inv = gfInv(a[col]![col]!)
    a[col] = a[col]!.map((v) => gfMul(v, inv))
    for (let r = 0; r < n; r++) {
      if (r === col || a[r]![col] === 0) continue
      const f = a[r]![col]!
      a[r] = a[r]!.map((v, c) => v ^ gfMul(f, a[col]![c]!))
    }
  }
  return a.map((row) => row.slice(n))
}

/** out ^= c · src, byte by byte (out = c · src when `first`). */
function mulAdd(out: Uint8Array, src: Uint8Array, table: Uint8Array, first: boolean): void {
  const n = src.length
  if (first) for (let i = 0; i < n; i++) out[i] = table[src[i]!]!
  else for (let i = 0; i < n; i++) out[i]! ^= table[src[i]!]!
}

/** One kernel per thread, shared by every code. */
let kernel: SimdKernel | undefined | null = null

export class ReedSolomon {
  readonly k: number
  readonly m: number
  /** `simd` or `js`: which arithmetic this code uses. */
  readonly engine: 'simd' | 'js'
  /** Row i of the encoding matrix for shard i: identity for data, Cauchy for parity. */
  readonly #rows: number[][]
  readonly #tables = new Map<number, Uint8Array>()

  constructor(k: number, m: number, options: { engine?: 'simd' | 'js' } = {}) {
    if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 1 || k + m > 255) {
      throw new Error(`a Reed–Solomon code needs k ≥ 1, m ≥ 1 and k + m ≤ 255 (got ${k}+${m})`)
    }
    this.k = k
    this.m = m
    if (kernel === null) kernel = simdKernel()
    this.engine = options.engine ?? (kernel ? 'simd' : 'js')
    if (this.engine === 'simd' && !kernel) throw new Error('WebAssembly SIMD is not available here')
    // Cauchy: C[i][j] = 1 / (x_i + y_j) with x_i = k + i, y_j = j, all distinct.
    this.#rows = [
      ...Array.from({ length: k }, (_, i) =>
        Array.from({ length: k }, (_, j) => (i === j ? 1 : 0)),
      ),
      ...Array.from({ length: m }, (_, i) =>
        Array.from({ length: k }, (_, j) => gfInv((k + i) ^ j)),
      ),
    ]
  }

  #table(c: number): Uint8Array {
    let table = this.#tables.get(c)
    if (!table) {
      table = productTable(c)
      this.#tables.set(c, table)
    }
    return table
  }

  /** The m parity shards of k data shards of equal length. */
  encode(data: readonly Uint8Array[]): Uint8Array[] {
    if (data.length !== this.k)
      throw new Error(`expected ${this.k} data shards, got ${data.length}`)
    const size = data[0]!.length
    if (data.some((d) => d.length !== size)) throw new Error('data shards differ in length')
    return this.#multiply(this.#rows.slice(this.k), data, size)
  }

  /**
   * The k data shards from any k of the k + m shards: `shards[i]` is shard i, or undefined when
   * lost. Throws when fewer than k are present.
   */
  reconstruct(shards: readonly (Uint8Array | undefined)[]): Uint8Array[] {
    const present = shards.flatMap((s, i) => (s ? [i] : [])).slice(0, this.k)
    if (present.length < this.k) {
      throw new Error(`${present.length} of ${this.k + this.m} shards left; ${this.k} are needed`)
    }
    const missing = Array.from({ length: this.k }, (_, i) => i).filter((i) => !shards[i])
    if (missing.length === 0) return shards.slice(0, this.k) as Uint8Array[]
    const size = shards[present[0]!]!.length
    const decode = invert(present.map((i) => this.#rows[i]!))
    const inputs = present.map((i) => shards[i]!)
    const out = shards.slice(0, this.k) as (Uint8Array | undefined)[]
    const rebuilt = this.#multiply(
      missing.map((i) => decode[i]!),
      inputs,
      size,
    )
    missing.forEach((i, n) => {
      out[i] = rebuilt[n]
    })
    return out as Uint8Array[]
  }

  /** Each row times the inputs: one output of `size` bytes per row. */
  #multiply(rows: readonly number[][], inputs: readonly Uint8Array[], size: number): Uint8Array[] {
    if (this.engine === 'js') return rows.map((row) => this.#combine(row, inputs, size))
    const simd = kernel!
    // Memory: 32 bytes of nibble tables, then the inputs, then the outputs, each padded to 16.
    const stride = Math.ceil(size / 16) * 16
    const inputAt = (j: number) => 64 + j * stride
    const outputAt = (r: number) => 64 + (inputs.length + r) * stride
    const needed = outputAt(rows.length)
    const pages = Math.ceil((needed - simd.memory.buffer.byteLength) / 65_536)
    if (pages > 0) simd.memory.grow(pages)
    let memory = new Uint8Array(simd.memory.buffer)
    inputs.forEach((input, j) => {
      memory.set(input, inputAt(j))
      memory.fill(0, inputAt(j) + size, inputAt(j) + stride)
    })
    memory.fill(0, outputAt(0), needed)
    rows.forEach((row, r) => {
      row.forEach((c, j) => {
        if (c === 0) return
        for (let i = 0; i < 16; i++) {
          memory[i] = gfMul(c, i)
          memory[16 + i] = gfMul(c, i << 4)
        }
        simd.mulxor(0, inputAt(j), outputAt(r), stride)
      })
    })
    memory = new Uint8Array(simd.memory.buffer)
    return rows.map((_, r) => memory.slice(outputAt(r), outputAt(r) + size))
  }

  #combine(row: readonly number[], inputs: readonly Uint8Array[], size: number): Uint8Array {
    const out = new Uint8Array(size)
    let first = true
    row.forEach((c, j) => {
      if (c === 0) return
      mulAdd(out, inputs[j]!, this.#table(c), first)
      first = false
    })
    return out
  }
}
