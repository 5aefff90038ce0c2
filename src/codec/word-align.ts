/**
 * The first index from `start` (at most `end`) where `bytes` sits on a 4-byte boundary of its
 * buffer: the hot loops read the aligned middle through a Uint32Array and the ends byte by byte.
 */
export function firstAligned(bytes: Uint8Array, start: number, end: number): number {
  return Math.min(end, start + ((4 - ((bytes.byteOffset + start) & 3)) & 3))
}
