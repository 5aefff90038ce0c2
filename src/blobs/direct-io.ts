import { constants } from 'node:fs'
import { type FileHandle, open, unlink } from 'node:fs/promises'

/**
 * Direct I/O (`O_DIRECT`) for large blobs: their bytes go between the disk and Piper's memory
 * without a copy through the kernel's page cache. A blob is written once, synced at once and
 * read rarely soon after, so caching it buys little, while the copy into the cache cost the
 * compress job a sixth of its CPU here (`copy_folio_from_iter_atomic`, 1.4 of 8 CPU-s for
 * 0.57 GiB written) and pushed other files out of the cache. MinIO writes objects the same way.
 *
 * `O_DIRECT` wants the memory, the file offset and the length aligned to the device's logical
 * block: 4096 covers every common one. JavaScript cannot choose where a buffer lives, but a
 * `WebAssembly.Memory` is mapped whole pages at a time, so its start is page-aligned; bytes pass
 * through such staging buffers (one copy in user memory, into a buffer that stays hot). A file
 * system that refuses `O_DIRECT` (tmpfs, some network and FUSE ones: `EINVAL`) makes
 * `openDirect` answer undefined, and the caller uses ordinary I/O.
 */

/** Alignment of memory, offsets and lengths for `O_DIRECT`. */
const DIRECT_ALIGN = 4096
/** Bytes moved per system call: each is a device request of its own. */
const STAGE_SIZE = 1 << 20
/** Staging buffers kept for reuse; more are made (and dropped after) when more I/O runs at once. */
const KEPT_STAGES = 8
const WASM_PAGE = 65536

/** The one WebAssembly API used here (the project's TypeScript libraries do not declare it). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer }
}

const spareStages: Uint8Array[] = []

function borrowStage(): Uint8Array {
  return (
    spareStages.pop() ??
    new Uint8Array(new WebAssembly.Memory({ initial: STAGE_SIZE / WASM_PAGE }).buffer)
  )
}

function returnStage(stage: Uint8Array): void {
  if (spareStages.length < KEPT_STAGES) spareStages.push(stage)
}

/** Whether this Linux build of Node has the flag at all (it does not elsewhere). */
const directSupported = typeof constants.O_DIRECT === 'number' && constants.O_DIRECT > 0

/**
 * Opens `path` with `O_DIRECT` added to `flags`; undefined when its file system refuses direct
 * I/O (`EINVAL`), so that the caller falls back to ordinary I/O. Other errors are thrown.
 */
export async function openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
  if (!directSupported) return undefined
  try {
    return await open(path, flags | constants.O_DIRECT, 0o644)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error
    // Linux creates the file before the file system refuses the flag (seen on ramfs): with
    // O_EXCL it is ours, and empty; the caller creates it again.
    const exclusive = constants.O_CREAT | constants.O_EXCL
    if ((flags & exclusive) === exclusive) await unlink(path).catch(() => {})
    return undefined
  }
}

/**
 * Writes all of `bytes` from offset 0 of a file opened by `openDirect`: whole aligned blocks,
 * the last one padded with zeros, then the file cut back to `bytes.length`. The caller syncs.
 */
export async function writeDirect(file: FileHandle, bytes: Uint8Array): Promise<void> {
  const stage = borrowStage()
  try {
    for (let at = 0; at < bytes.length; ) {
      const n = Math.min(STAGE_SIZE, bytes.length - at)
      stage.set(bytes.subarray(at, at + n))
      const padded = alignUp(n)
      stage.fill(0, n, padded)
      for (let done = 0; done < padded; ) {
        const { bytesWritten } = await file.write(stage, done, padded - done, at + done)
        // A short direct write (a full disk) leaves an unaligned remainder: stop with an error.
        if (bytesWritten === 0 || bytesWritten % DIRECT_ALIGN !== 0) {
          throw Object.assign(
            new Error(`a direct write of ${padded - done} bytes wrote ${bytesWritten}`),
            {
              code: 'ENOSPC',
            },
          )
        }
        done += bytesWritten
      }
      at += n
    }
    if (bytes.length % DIRECT_ALIGN !== 0) await file.truncate(bytes.length)
  } finally {
    returnStage(stage)
  }
}

/** Reads `into.length` bytes from offset 0 of a file opened by `openDirect`; the count read. */
export async function readDirect(file: FileHandle, into: Uint8Array): Promise<number> {
  const stage = borrowStage()
  try {
    let at = 0
    while (at < into.length) {
      const want = alignUp(Math.min(STAGE_SIZE, into.length - at))
      const { bytesRead } = await file.read(stage, 0, want, at)
      if (bytesRead === 0) break
      const n = Math.min(bytesRead, into.length - at)
      into.set(stage.subarray(0, n), at)
      at += n
      // Short of what was asked: the end of the file (a direct read stops there).
      if (bytesRead < want) break
    }
    return at
  } finally {
    returnStage(stage)
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN
}
