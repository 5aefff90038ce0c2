/**
 * GF(2^8) multiply-accumulate in WebAssembly SIMD: `dst ^= c · src` over 16 bytes at a time, by
 * the split-nibble method (c · b = c · (b & 15) ^ c · (b >> 4 << 4), each half a 16-entry table
 * looked up with `i8x16.swizzle`; Plank, Greenan & Miller, "Screaming fast Galois field
 * arithmetic using Intel SIMD instructions", FAST 2013). The module is a few dozen bytes,
 * assembled here, so nothing is built at install time.
 */

// The function `mulxor(tables, src, dst, len)`; `len` is a multiple of 16.
// Locals: 0 tables, 1 src, 2 dst, 3 len (params); 4 low table, 5 high table, 6 nibble mask,
// 7 the source vector (v128); 8 end of source (i32).
const SIMD = 0xfd
const V128_LOAD = [SIMD, 0x00, 0x00, 0x00] // align 2^0, offset 0
const V128_STORE = [SIMD, 0x0b, 0x00, 0x00]
const body = [
  ...[0x02, 0x04, 0x7b, 0x01, 0x7f], // locals: 4 × v128, 1 × i32
  ...[0x20, 0x00, ...V128_LOAD, 0x21, 0x04], // low = load(tables)
  ...[0x20, 0x00, SIMD, 0x00, 0x00, 0x10, 0x21, 0x05], // high = load(tables + 16)
  ...[0x41, 0x0f, SIMD, 0x0f, 0x21, 0x06], // mask = splat(15)
  ...[0x20, 0x01, 0x20, 0x03, 0x6a, 0x21, 0x08], // end = src + len
  ...[0x02, 0x40, 0x03, 0x40], // block, loop
  ...[0x20, 0x01, 0x20, 0x08, 0x4f, 0x0d, 0x01], // if src >= end: break
  ...[0x20, 0x01, ...V128_LOAD, 0x21, 0x07], // v = load(src)
  ...[0x20, 0x02], // (address of the store)
  ...[0x20, 0x02, ...V128_LOAD], // load(dst)
  ...[0x20, 0x04, 0x20, 0x07, 0x20, 0x06, SIMD, 0x4e, SIMD, 0x0e], // swizzle(low, v & mask)
  ...[0x20, 0x05, 0x20, 0x07, 0x41, 0x04, SIMD, 0x6d, SIMD, 0x0e], // swizzle(high, v >> 4)
  ...[SIMD, 0x51, SIMD, 0x51], // xor, xor
  ...V128_STORE, // dst = dst ^ c·v
  ...[0x20, 0x01, 0x41, 0x10, 0x6a, 0x21, 0x01], // src += 16
  ...[0x20, 0x02, 0x41, 0x10, 0x6a, 0x21, 0x02], // dst += 16
  ...[0x0c, 0x00, 0x0b, 0x0b], // br loop; end loop; end block
  0x0b, // end function
]

function section(id: number, content: number[]): number[] {
  return [id, ...leb(content.length), ...content]
}

function leb(value: number): number[] {
  const out: number[] = []
  do {
    let byte = value & 0x7f
    value >>>= 7
    if (value !== 0) byte |= 0x80
    out.push(byte)
  } while (value !== 0)
  return out
}

const name = (text: string) => [text.length, ...Buffer.from(text, 'latin1')]

const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, [0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // (i32 ×4) → ()
  ...section(3, [0x01, 0x00]),
  ...section(5, [0x01, 0x00, 0x01]), // one memory, at least one page
  ...section(7, [0x02, ...name('mulxor'), 0x00, 0x00, ...name('memory'), 0x02, 0x00]),
  ...section(10, [0x01, ...leb(body.length), ...body]),
])

export interface SimdKernel {
  memory: { buffer: ArrayBuffer; grow(pages: number): number }
  mulxor(tables: number, src: number, dst: number, len: number): void
}

/** The parts of the WebAssembly global used here (the project's types leave out the DOM's). */
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object
    Instance: new (module: object) => { exports: unknown }
  }
}

/** The kernel, or undefined where WebAssembly SIMD is not available. */
export function simdKernel(): SimdKernel | undefined {
  try {
    const instance = new wasm.Instance(new wasm.Module(MODULE))
    const exports = instance.exports as SimdKernel
    return { memory: exports.memory, mulxor: exports.mulxor }
  } catch {
    return undefined
  }
}
