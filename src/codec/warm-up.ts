import { MICRO_BLOCK_SIZE } from './block-plan.ts'

/**
 * Why the codec runs once on a small sample before its first real chunk: V8 compiles a hot
 * loop on the stack (OSR) while the first large chunk is still inside it, before the code after
 * the loop has ever run. That optimized code then lacks type feedback for the loop's exit and
 * deoptimizes there on every later call (`--trace-deopt` showed it once per block, for the life
 * of the process, halving speed on small files). A sample too small to trigger OSR, but that
 * takes every path (several dynamic blocks, long codes, a stored block), records the feedback
 * first.
 */
export function warmUpSample(): Uint8Array {
  const sample = new Uint8Array(3 * MICRO_BLOCK_SIZE + 3)
  let x = 1
  for (let i = 0; i < sample.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const r = x >>> 8
    if (i < MICRO_BLOCK_SIZE) sample[i] = 97 + (r % 26 < 13 ? r % 4 : r % 26)
    else if (i < 2 * MICRO_BLOCK_SIZE) sample[i] = r & 255
    else sample[i] = r % 64 === 0 ? r & 255 : 48 + (r % 3)
  }
  return sample
}
