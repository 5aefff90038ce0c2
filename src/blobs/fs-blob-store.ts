import { randomBytes } from 'node:crypto'
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { type FileHandle, link, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { isAlive, isDiskFull, syncDirectory } from '../log/index.ts'
import {
  type Allocate,
  BLOB_KEY,
  type BlobStore,
  type ByteRange,
  type PutResult,
  type ReadOptions,
} from './blob-store.ts'
import { openDirect, readDirect, writeDirect } from './direct-io.ts'
import { BlobError, checkRange } from './errors.ts'

/**
 * Blobs as files under `root`, fanned out by the key's first four characters
 * (`ab/cd/abcd…`) so no directory grows past 65 536 entries per level.
 *
 * A put writes a temporary file in `root/tmp`, fsyncs it, then `link`s it to its final name
 * and fsyncs the directory: the final name appears whole or not at all, and `link` (unlike
 * `rename`) fails when the key exists, so a concurrent put of the same key never replaces a
 * blob a reader has open.
 *
 * Each process writes its temporary files in a folder of its own (`tmp/<pid>.<random>`), so a
 * second process starting on the same store never deletes a write in progress; at start, the
 * folders of processes that are gone (a crash) are removed.
 *
 * A blob of `DIRECT_MIN` bytes or more given whole is written, and read whole, with direct I/O
 * (`direct-io.ts`): not copied through the page cache. On a file system that refuses it the
 * store uses ordinary I/O from then on.
 *
 * A blob of up to `SMALL_MAX` bytes is read, and a key looked up, with synchronous calls on the
 * caller's thread. Each asynchronous file call is a round trip through libuv's thread pool,
 * ~50 µs of CPU on a 2-core VM against ~6 µs for the whole small read done here (measured, see
 * docs/performance.md); a pipeline of tiny files reads hundreds of blobs a second. The price is a
 * stall of the event loop for as long as one small read takes from a cold disk, as the queue
 * log's appends already take.
 */
export class FsBlobStore implements BlobStore {
  readonly name = 'fs'
  readonly root: string
  readonly #tmpRoot: string
  readonly #tmp: string
  /** False once the file system refused `O_DIRECT`, or when the store was told not to use it. */
  #direct: boolean

  constructor(root: string, options: { directIo?: boolean } = {}) {
    this.#direct = options.directIo ?? true
    this.root = root
    this.#tmpRoot = join(root, 'tmp')
    this.#tmp = join(this.#tmpRoot, `${process.pid}.${randomBytes(4).toString('hex')}`)
  }

  async start(): Promise<void> {
    await mkdir(this.#tmp, { recursive: true })
    for (const name of await readdirOrEmpty(this.#tmpRoot)) {
      const pid = Number(/^(\d+)\./.exec(name)?.[1])
      // Before per-process folders, temporary files lay in tmp/ itself: a crash's leftovers.
      if (join(this.#tmpRoot, name) === this.#tmp || (pid > 0 && isAlive(pid))) continue
      await rm(join(this.#tmpRoot, name), { recursive: true, force: true })
    }
  }

  async put(
    key: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options: { expectedSize?: number } = {},
  ): Promise<PutResult> {
    const path = this.#path(key)
    const existing = await this.stat(key)
    if (existing) {
      // Content-addressed: the stored blob is these bytes already. Drain a stream source so
      // the caller's producer is not left blocked.
      if (!(source instanceof Uint8Array)) for await (const _ of source);
      return { created: false, size: existing.size }
    }
    const tmp = join(this.#tmp, `${key}.${randomBytes(6).toString('hex')}`)
    const direct =
      source instanceof Uint8Array && source.length >= DIRECT_MIN
        ? await this.#openDirect(tmp, WRITE_NEW)
        : undefined
    const file = direct ?? (await open(tmp, 'wx'))
    try {
      const size = await writeSource(file, source, direct !== undefined)
      if (options.expectedSize !== undefined && size !== options.expectedSize) {
        throw new BlobError(
          'E_BLOB_SIZE',
          key,
          `blob ${key}: got ${size} bytes, expected ${options.expectedSize}`,
        )
      }
      await file.sync()
      await file.close()
      const created = await linkOnce(tmp, path)
      return { created, size }
    } catch (error) {
      if (isDiskFull(error)) {
        throw new BlobError('E_STORAGE_FULL', key, `no room for blob ${key} in ${this.root}`, {
          cause: error,
        })
      }
      throw error
    } finally {
      await file.close().catch(() => {})
      await unlink(tmp).catch(() => {})
    }
  }

  async get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array>> {
    const path = this.#path(key)
    const info = await this.stat(key)
    if (!info) throw notStored(key)
    checkRange(key, range, info.size)
    if (info.size === 0) return emptyIterable()
    return readPieces(key, path, range?.start ?? 0, range?.end ?? info.size - 1)
  }

  /** The file system has no check of its own to skip (`options.unchecked`). */
  async read(key: string, { allocate = fresh }: ReadOptions = {}): Promise<Uint8Array> {
    const path = this.#path(key)
    const small = readSmall(key, path, allocate)
    if (typeof small !== 'number') return small
    // Read straight into the buffer returned: no stream pieces left for the GC to find.
    const bytes = allocate(small)
    // The file is opened once, with direct I/O for a large blob (blobs never change in place).
    const direct =
      bytes.length >= DIRECT_MIN
        ? await this.#openDirect(path, constants.O_RDONLY).catch(missingAs(key))
        : undefined
    const handle = direct ?? (await openBlob(key, path))
    try {
      const at = await (direct ? readDirect(direct, bytes) : readFully(handle, bytes))
      return at === bytes.length ? bytes : bytes.subarray(0, at)
    } finally {
      await handle.close()
    }
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const info = statSync(this.#path(key), { throwIfNoEntry: false })
    return info && { size: info.size }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await unlink(this.#path(key))
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw error
    }
  }

  async *list(prefix = ''): AsyncIterable<{ key: string; size: number; modified: Date }> {
    // Only the folders a key can be in, and only files named as keys that belong there: a
    // stray file (an editor's backup, lost+found, notes) is not a blob to collect or check.
    const within = (dirs: string[], part: string) =>
      dirs.filter((d) => d.length === 2 && d !== 'tmp' && d.startsWith(part))
    for (const a of within(await readdirOrEmpty(this.root), prefix.slice(0, 2))) {
      for (const b of within(await readdirOrEmpty(join(this.root, a)), prefix.slice(2, 4))) {
        for (const key of await readdirOrEmpty(join(this.root, a, b))) {
          if (!BLOB_KEY.test(key) || !key.startsWith(a + b) || !key.startsWith(prefix)) continue
          const info = await stat(join(this.root, a, b, key)).catch(() => undefined)
          if (info?.isFile()) yield { key, size: info.size, modified: info.mtime }
        }
      }
    }
  }

  async close(): Promise<void> {}

  /** `openDirect`, remembering a refusal: the file system will not change its mind. */
  async #openDirect(path: string, flags: number): Promise<FileHandle | undefined> {
    if (!this.#direct) return undefined
    const handle = await openDirect(path, flags)
    if (!handle) this.#direct = false
    return handle
  }

  #path(key: string): string {
    if (!BLOB_KEY.test(key)) {
      throw new BlobError('E_BLOB_KEY', key, `invalid blob key ${JSON.stringify(key)}`)
    }
    return join(this.root, key.slice(0, 2), key.slice(2, 4), key)
  }
}

const fresh: Allocate = (size) => new Uint8Array(size)

/** Blobs up to this size are read with synchronous calls (see the class's comment). */
const SMALL_MAX = 64 * 1024

/**
 * The blob's bytes when it has at most `SMALL_MAX` of them, read with synchronous calls; for a
 * larger one, its size (the caller reads it as a large blob). A missing file is
 * `E_BLOB_NOT_FOUND`.
 */
function readSmall(key: string, path: string, allocate: Allocate): Uint8Array | number {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    return missingAs(key)(error)
  }
  try {
    const size = fstatSync(fd).size
    if (size > SMALL_MAX) return size
    const bytes = allocate(size)
    let at = 0
    while (at < size) {
      const read = readSync(fd, bytes, at, size - at, at)
      if (read === 0) break
      at += read
    }
    return at === size ? bytes : bytes.subarray(0, at)
  } finally {
    closeSync(fd)
  }
}

/** Blobs from this size up are written and read with direct I/O (a chunk is 4 MiB by default). */
const DIRECT_MIN = 256 * 1024
/** `open(tmp, 'wx')` as flags. */
const WRITE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL

/** Links `tmp` to `path`, creating its folders; false when `path` already exists. */
async function linkOnce(tmp: string, path: string): Promise<boolean> {
  const dir = join(path, '..')
  try {
    await link(tmp, path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code !== 'ENOENT') throw error
    // New folders too must survive a power cut: each one's entry lives in its parent.
    const made = await mkdir(dir, { recursive: true })
    if (made !== undefined) {
      for (let d = dir; d.length >= made.length; d = join(d, '..'))
        await syncDirectory(join(d, '..'))
    }
    try {
      await link(tmp, path)
    } catch (retry) {
      if ((retry as NodeJS.ErrnoException).code === 'EEXIST') return false
      throw retry
    }
  }
  // Without this a crash can lose a completed link.
  await syncDirectory(dir)
  return true
}

/** Writes the whole source into `file` (opened with `openDirect` when `direct`); its size. */
async function writeSource(
  file: FileHandle,
  source: Uint8Array | AsyncIterable<Uint8Array>,
  direct: boolean,
): Promise<number> {
  if (source instanceof Uint8Array) {
    await (direct ? writeDirect(file, source) : writeFully(file, source))
    return source.length
  }
  let size = 0
  for await (const piece of source) {
    await writeFully(file, piece)
    size += piece.length
  }
  return size
}

/**
 * Writes all of `bytes`. A write may take only part of a buffer (near a full disk or a file-size
 * limit it does, and the next one fails): ignoring that stored a chunk cut short under the key
 * of the whole one.
 */
async function writeFully(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, at, bytes.length - at)
    if (bytesWritten === 0)
      throw new Error(`a write of ${bytes.length - at} bytes made no progress`)
    at += bytesWritten
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

async function* emptyIterable(): AsyncIterable<Uint8Array> {}

/** Opens the blob's file for reading; a missing one is `E_BLOB_NOT_FOUND`. */
function openBlob(key: string, path: string): Promise<FileHandle> {
  return open(path, 'r').catch(missingAs(key))
}

function notStored(key: string): BlobError {
  return new BlobError('E_BLOB_NOT_FOUND', key, `blob ${key} is not stored`)
}

/** Rethrows a failure to open the blob's file, a missing file as `E_BLOB_NOT_FOUND`. */
function missingAs(key: string): (error: unknown) => never {
  return (error) => {
    throw (error as NodeJS.ErrnoException).code === 'ENOENT' ? notStored(key) : error
  }
}

/** Reads into all of `bytes` from offset 0, or up to the end of the file; the count read. */
async function readFully(file: FileHandle, bytes: Uint8Array): Promise<number> {
  let at = 0
  while (at < bytes.length) {
    const { bytesRead } = await file.read(bytes, at, bytes.length - at, at)
    if (bytesRead === 0) break
    at += bytesRead
  }
  return at
}

/** Bytes per piece of `get`: few reads, and few buffers alive between writes. */
const PIECE_SIZE = 256 * 1024

/** The blob's bytes `start` to `end` (inclusive), each piece read into a buffer of its own. */
async function* readPieces(
  key: string,
  path: string,
  start: number,
  end: number,
): AsyncGenerator<Uint8Array> {
  const handle = await openBlob(key, path)
  try {
    for (let at = start; at <= end; ) {
      const piece = new Uint8Array(Math.min(PIECE_SIZE, end + 1 - at))
      const { bytesRead } = await handle.read(piece, 0, piece.length, at)
      if (bytesRead === 0) {
        throw new BlobError(
          'E_BLOB_SIZE',
          key,
          `blob ${key} ended at byte ${at}, before ${end + 1}`,
        )
      }
      at += bytesRead
      yield bytesRead === piece.length ? piece : piece.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}
