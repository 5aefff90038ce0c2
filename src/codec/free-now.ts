/**
 * Frees the memory under `bytes` now rather than at a later garbage collection, by detaching
 * its ArrayBuffer (`transfer(0)` releases the old backing store at once). V8 counts such
 * buffers as external memory and answers their growth with full collections: a 1 GiB job's
 * chunks, read, coded and written, forced one every ~20 MB on the main thread and kept the
 * codec threads' collectors busy. Only for a buffer its caller alone holds; views of it become
 * empty. Shared and small (possibly pooled) buffers are left alone.
 */
export function freeNow(bytes: Uint8Array): void {
  const buffer = bytes.buffer
  if (buffer instanceof ArrayBuffer && !buffer.detached && buffer.byteLength > 64 * 1024) {
    buffer.transfer(0)
  }
}
