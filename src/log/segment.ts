import { type FileHandle, open, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { syncDirectory } from './durable-file.ts'
import { LogError } from './errors.ts'
import { closeFd, dataSync, HAS_O_DSYNC, openDataSync, writeAll } from './fd-io.ts'
import { decodeRecord, type LogRecord } from './record.ts'
import { TailCache } from './tail-cache.ts'

/** `00000000000000001234.log`: a segment's files are named by their base offset. */
export function segmentName(base: number, ext: 'log' | 'index'): string {
  return `${String(base).padStart(20, '0')}.${ext}`
}

/**
 * Unsynced bytes a segment keeps so the next durable append can write them again with its own,
 * in one O_DSYNC write (a consumer group's delivery records before its next ack, say).
 */
const REWRITE_BYTES = 64 << 10

/** What a scan of a segment's tail found after its last good record. */
export interface ScanResult {
  /** Bytes after the last good record that were cut (a torn write). */
  cutBytes: number
}

/**
 * One segment: a record file and, once sealed, an index file of record positions. The record
 * positions are also kept in memory (4 bytes per record) so a read by offset is one lookup.
 */
export class Segment {
  readonly base: number
  readonly logPath: string
  readonly indexPath: string
  #file: FileHandle
  /** Empty until `cacheTail` gives it room: only the active segment of a log needs one. */
  readonly #tail = new TailCache(0)
  /** The same file opened O_DSYNC, for durable appends; opened on the first one. */
  #syncFd: Promise<number> | undefined
  /**
   * What was written since the last sync, in order, while it is small; `undefined` when that is
   * unknown (a segment opened from disk) or too much to write again, so only fdatasync will do.
   */
  #unsynced: Uint8Array[] | undefined = []
  #unsyncedBytes = 0
  /** Appends so far, so a sync knows whether one came while it ran. */
  #appends = 0
  #positions = new Uint32Array(1024)
  #count = 0
  size = 0
  /** Last time a record was appended (ms), for retention by age. */
  lastAppend = 0

  private constructor(dir: string, base: number, file: FileHandle) {
    this.base = base
    this.logPath = join(dir, segmentName(base, 'log'))
    this.indexPath = join(dir, segmentName(base, 'index'))
    this.#file = file
  }

  /** A new, empty segment whose file survives a power cut (its folder entry synced). */
  static async create(dir: string, base: number): Promise<Segment> {
    const file = await open(join(dir, segmentName(base, 'log')), 'wx+')
    try {
      await syncDirectory(dir)
    } catch (error) {
      await file.close()
      throw error
    }
    return new Segment(dir, base, file)
  }

  static async open(dir: string, base: number): Promise<Segment> {
    const segment = new Segment(dir, base, await open(join(dir, segmentName(base, 'log')), 'r+'))
    // Whatever is in the file may be in the page cache only (the last run may have crashed).
    segment.#unsynced = undefined
    const info = await segment.#file.stat()
    segment.lastAppend = info.mtimeMs
    return segment
  }

  get count(): number {
    return this.#count
  }

  get nextOffset(): number {
    return this.base + this.#count
  }

  async fileSize(): Promise<number> {
    return (await this.#file.stat()).size
  }

  /**
   * Appends encoded records (already carrying offsets `nextOffset…`) in one write. A `durable`
   * append resolves once it and everything before it is on disk.
   */
  async append(bytes: Uint8Array, sizes: readonly number[], durable = false): Promise<void> {
    this.#appends++
    if (durable && this.#unsynced && HAS_O_DSYNC) {
      // One O_DSYNC write from the end of the last sync: it syncs only the range it writes.
      const start = this.size - this.#unsyncedBytes
      const out = this.#unsyncedBytes > 0 ? Buffer.concat([...this.#unsynced, bytes]) : bytes
      await writeAll(await this.#openSyncFd(), out, start)
      this.#synced()
    } else {
      await writeAll(this.#file.fd, bytes, this.size)
      if (durable) {
        await dataSync(this.#file.fd)
        this.#synced()
      } else if (this.#unsynced && this.#unsyncedBytes + bytes.length <= REWRITE_BYTES) {
        this.#unsynced.push(bytes)
        this.#unsyncedBytes += bytes.length
      } else {
        this.#unsynced = undefined
      }
    }
    this.#tail.add(this.size, bytes)
    for (const size of sizes) {
      this.#push(this.size)
      this.size += size
    }
    this.lastAppend = Date.now()
  }

  /**
   * Makes what was appended durable: fdatasync flushes the data and the file size needed to
   * read it back, and skips the modification time, which nothing needs after a crash.
   */
  async sync(): Promise<void> {
    const appends = this.#appends
    await dataSync(this.#file.fd)
    // An append made while fdatasync ran may not be covered by it.
    if (this.#appends === appends) this.#synced()
  }

  /** Done with appends: releases what only they need. */
  async seal(): Promise<void> {
    this.#tail.resize(0)
    const fd = this.#syncFd
    this.#syncFd = undefined
    // An open that failed has nothing to close.
    if (fd) await fd.then(closeFd).catch(() => {})
  }

  /** Keeps up to `bytes` of what is appended from now on in memory for reads (0: none). */
  cacheTail(bytes: number): void {
    this.#tail.resize(bytes)
  }

  /** Records from `offset` on, up to `maxRecords` and about `maxBytes` (at least one). */
  async read(offset: number, maxRecords: number, maxBytes: number): Promise<LogRecord[]> {
    const first = offset - this.base
    if (first < 0 || first >= this.#count) return []
    let last = first
    const start = this.#positions[first]!
    while (last + 1 < this.#count && last + 1 - first < maxRecords) {
      const end = last + 2 < this.#count ? this.#positions[last + 2]! : this.size
      if (end - start > maxBytes) break
      last++
    }
    const end = last + 1 < this.#count ? this.#positions[last + 1]! : this.size
    let buffer = this.#tail.read(start, end)
    if (!buffer) {
      buffer = Buffer.allocUnsafe(end - start)
      await this.#file.read(buffer, 0, buffer.length, start)
    }
    const records: LogRecord[] = []
    for (let pos = 0; pos < buffer.length; ) {
      const decoded = decodeRecord(buffer, pos)
      if (decoded.kind !== 'record') {
        throw new LogError(
          'E_LOG_CORRUPT',
          `${this.logPath}: record at byte ${start + pos} is unreadable`,
        )
      }
      records.push(decoded.record)
      pos += decoded.size
    }
    return records
  }

  /** The positions known so far (for snapshots). */
  positions(): Uint32Array {
    return this.#positions.subarray(0, this.#count)
  }

  /** Takes positions from a trusted source (index file or snapshot) covering `size` bytes. */
  adopt(positions: Uint32Array, size: number): void {
    this.#positions = new Uint32Array(Math.max(1024, positions.length * 2))
    this.#positions.set(positions)
    this.#count = positions.length
    this.size = size
  }

  /**
   * Reads records from `this.size` to the end of the file, adding their positions. A torn tail
   * (an incomplete record, or a bad one with nothing valid after it) is cut when `repairTail`;
   * corruption followed by valid records is `E_LOG_CORRUPT`.
   */
  async scan(repairTail: boolean): Promise<ScanResult> {
    const fileSize = await this.fileSize()
    let window: Buffer = Buffer.allocUnsafe(0)
    let windowStart = this.size
    while (this.size < fileSize) {
      const rel = this.size - windowStart
      let decoded = decodeRecord(window, rel)
      if (decoded.kind === 'incomplete' && windowStart + window.length < fileSize) {
        window = await this.#readWindow(this.size, fileSize)
        windowStart = this.size
        decoded = decodeRecord(window, 0)
      }
      if (decoded.kind === 'record') {
        if (decoded.record.offset !== this.nextOffset) {
          throw new LogError(
            'E_LOG_CORRUPT',
            `${this.logPath}: byte ${this.size} holds offset ${decoded.record.offset}, expected ${this.nextOffset}`,
          )
        }
        this.#push(this.size)
        this.size += decoded.size
        continue
      }
      const reason = decoded.kind === 'corrupt' ? decoded.reason : 'incomplete record'
      if (!repairTail || (await this.#validRecordAfter(this.size))) {
        throw new LogError(
          'E_LOG_CORRUPT',
          `${this.logPath}: ${reason} at byte ${this.size} of ${fileSize}, with data after it; refusing to guess (restore the segment or remove it and what follows)`,
        )
      }
      await this.#file.truncate(this.size)
      await this.#file.sync()
      return { cutBytes: fileSize - this.size }
    }
    return { cutBytes: 0 }
  }

  /** Writes the index file of a sealed segment: u32 count, positions, u32 size, crc32. */
  async writeIndex(): Promise<void> {
    const body = Buffer.alloc(8 + this.#count * 4)
    body.writeUInt32LE(this.#count, 0)
    Buffer.from(this.positions().buffer, this.positions().byteOffset, this.#count * 4).copy(body, 4)
    body.writeUInt32LE(this.size, 4 + this.#count * 4)
    const crc = Buffer.alloc(4)
    crc.writeUInt32LE(crc32(body), 0)
    await writeFile(this.indexPath, Buffer.concat([body, crc]), { flush: true })
  }

  /** Loads the index file if it is intact and matches the record file; false otherwise. */
  async loadIndex(): Promise<boolean> {
    let bytes: Buffer
    try {
      bytes = await readFile(this.indexPath)
    } catch {
      return false
    }
    if (bytes.length < 12) return false
    const body = bytes.subarray(0, bytes.length - 4)
    if (crc32(body) !== bytes.readUInt32LE(bytes.length - 4)) return false
    const count = body.readUInt32LE(0)
    if (body.length !== 8 + count * 4) return false
    const size = body.readUInt32LE(4 + count * 4)
    if (size !== (await this.fileSize())) return false
    const positions = new Uint32Array(count)
    for (let i = 0; i < count; i++) positions[i] = body.readUInt32LE(4 + i * 4)
    this.adopt(positions, size)
    return true
  }

  /** Cuts the file back to the records appended (after a write that failed midway). */
  async truncate(): Promise<void> {
    await this.#file.truncate(this.size)
  }

  async close(): Promise<void> {
    await this.seal()
    await this.#file.close().catch(() => {})
  }

  async remove(): Promise<void> {
    await this.close()
    await rm(this.logPath, { force: true })
    await rm(this.indexPath, { force: true })
  }

  #synced(): void {
    this.#unsynced = []
    this.#unsyncedBytes = 0
  }

  #openSyncFd(): Promise<number> {
    if (!this.#syncFd) {
      const opening = openDataSync(this.logPath)
      // A failed open fails its append; the next durable append tries again.
      opening.catch(() => {
        if (this.#syncFd === opening) this.#syncFd = undefined
      })
      this.#syncFd = opening
    }
    return this.#syncFd
  }

  #push(position: number): void {
    if (this.#count === this.#positions.length) {
      const grown = new Uint32Array(this.#positions.length * 2)
      grown.set(this.#positions)
      this.#positions = grown
    }
    this.#positions[this.#count++] = position
  }

  async #readWindow(from: number, fileSize: number): Promise<Buffer> {
    const head = Buffer.alloc(4)
    await this.#file.read(head, 0, 4, from)
    const wanted = Math.min(fileSize - from, Math.max(8 << 20, head.readUInt32LE(0) + 4))
    const buffer = Buffer.allocUnsafe(wanted)
    const { bytesRead } = await this.#file.read(buffer, 0, wanted, from)
    return buffer.subarray(0, bytesRead)
  }

  /** Whether a record with the next offsets parses anywhere after `from` (corruption, not a tear). */
  async #validRecordAfter(from: number): Promise<boolean> {
    const fileSize = await this.fileSize()
    const rest = Buffer.allocUnsafe(Math.min(fileSize - from, 64 << 20))
    await this.#file.read(rest, 0, rest.length, from)
    const next = this.nextOffset
    for (let pos = 1; pos + 28 <= rest.length; pos++) {
      // Cheap filter first: a record here would carry an offset just past ours.
      const offset = rest.readUInt32LE(pos + 8) + rest.readUInt32LE(pos + 12) * 2 ** 32
      if (offset < next || offset > next + 10_000_000) continue
      const decoded = decodeRecord(rest, pos)
      if (decoded.kind === 'record') return true
    }
    return false
  }
}
