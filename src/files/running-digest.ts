import { createHash, type Hash } from 'node:crypto'

/**
 * The sha256 of an upload's first chunks, hashed in order while their bytes were still in
 * memory, so that finishing the upload (`FileService.uploadDigest`) reads back and hashes only
 * the chunks after them. It names the keys it hashed: it is used only if the upload's chunk list
 * begins with exactly those, and it is used up by that (its hash goes on from there).
 */
export class RunningDigest {
  readonly keys: string[] = []
  size = 0
  readonly hash: Hash = createHash('sha256')

  /** Hashes the next chunk, stored under `key`. */
  add(key: string, bytes: Uint8Array): void {
    this.hash.update(bytes)
    this.keys.push(key)
    this.size += bytes.length
  }

  /** Whether `chunks` (an upload's, in order) begin with the chunks hashed here. */
  begins(chunks: readonly { key: string }[]): boolean {
    return this.keys.length <= chunks.length && this.keys.every((key, i) => chunks[i]!.key === key)
  }
}
