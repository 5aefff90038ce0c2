import { mkdir, readdir } from 'node:fs/promises'
import type { Logger } from '../telemetry/index.ts'
import { LogError } from './errors.ts'
import type { FsyncPolicy } from './fsync-policy.ts'
import {
  encodeHeaders,
  type LogRecord,
  MAX_RECORD_BYTES,
  RECORD_HEADER,
  writeRecord,
} from './record.ts'
import { Segment } from './segment.ts'
import { readSnapshot, writeSnapshot } from './snapshot.ts'

export interface LogOptions {
  dir: string
  fsync: FsyncPolicy
  logger: Logger
  /** A segment rolls over once it holds this many bytes (default 64 MiB, at most 1 GiB). */
  segmentBytes?: number
  /** Snapshot the index every this many ms (default 60 s; 0 = only at close). */
  snapshotEveryMs?: number
  /** The newest bytes of the active segment kept in memory for reads (default 1 MiB; 0 = none). */
  tailCacheBytes?: number
}

/** Options of one append. */
export interface AppendOptions {
  headers?: Record<string, string>
  /**
   * `false`: resolve once written, without an fsync of its own; the next durable append's fsync
   * (or close) covers it. For records whose loss in a crash is harmless (a delivery count).
   */
  durable?: boolean
}

/** A record waiting for the writer; encoded straight into the batch's one buffer. */
interface PendingAppend {
  offset: number
  timestamp: number
  headers: Uint8Array
  payload: Uint8Array
  /** Encoded size. */
  size: number
  durable: boolean
  resolve: (offset: number) => void
  reject: (error: unknown) => void
}

/**
 * A segmented append-only log: one writer, records found by offset through an in-memory index.
 *
 * Appends made while a write is in progress are grouped into the next single write (and, with
 * `fsync: always`, a single fsync), so throughput rises with concurrency instead of paying one
 * fsync per record. Offsets are assigned in call order.
 */
export class Log {
  readonly dir: string
  readonly #options: Required<Omit<LogOptions, 'logger'>>
  readonly #log: Logger
  #segments: Segment[] = []
  #next = 0
  #committed = 0
  #pending: PendingAppend[] = []
  #writing: Promise<void> | undefined
  #dirty = false
  #syncTimer: NodeJS.Timeout | undefined
  #snapshotTimer: NodeJS.Timeout | undefined
  #closed: Promise<void> | undefined
  /** Set by the first failed write or fsync: every append from then on is refused with it. */
  #fence: LogError | undefined

  private constructor(options: LogOptions) {
    this.dir = options.dir
    this.#options = {
      dir: options.dir,
      fsync: options.fsync,
      segmentBytes: options.segmentBytes ?? 64 << 20,
      snapshotEveryMs: options.snapshotEveryMs ?? 60_000,
      tailCacheBytes: options.tailCacheBytes ?? 1 << 20,
    }
    this.#log = options.logger.child({ component: 'log', dir: options.dir })
    if (this.#options.segmentBytes > 2 ** 30 || this.#options.segmentBytes < 1024) {
      throw new LogError('E_LOG_CONFIG', 'segmentBytes must be from 1 KiB to 1 GiB')
    }
    const { tailCacheBytes } = this.#options
    if (!Number.isSafeInteger(tailCacheBytes) || tailCacheBytes < 0) {
      throw new LogError(
        'E_LOG_CONFIG',
        'tailCacheBytes must be a whole number of bytes, 0 or more',
      )
    }
  }

  /** Opens (creating or recovering) the log in `dir`. */
  static async open(options: LogOptions): Promise<Log> {
    const log = new Log(options)
    try {
      await log.#recover()
    } catch (error) {
      for (const segment of log.#segments) await segment.close()
      throw error
    }
    log.#startTimers()
    return log
  }

  /** The first offset still stored. */
  get startOffset(): number {
    return this.#segments[0]?.base ?? this.#next
  }

  /** Offsets below this one are confirmed (durable per the fsync policy); readers stop here. */
  get committedOffset(): number {
    return this.#committed
  }

  /** The fsync policy; a change applies from the next append. */
  get fsync(): FsyncPolicy {
    return this.#options.fsync
  }

  set fsync(policy: FsyncPolicy) {
    this.#options.fsync = policy
    clearInterval(this.#syncTimer)
    this.#syncTimer = undefined
    this.#startSyncTimer()
  }

  /** The offset the next append gets. */
  get nextOffset(): number {
    return this.#next
  }

  get segmentCount(): number {
    return this.#segments.length
  }

  get bytes(): number {
    return this.#segments.reduce((sum, s) => sum + s.size, 0)
  }

  /**
   * Appends a record; resolves with its offset once durable per the fsync policy. The payload
   * is read when the record is written: it must not change until the append resolves.
   */
  append(payload: Uint8Array, options: AppendOptions = {}): Promise<number> {
    if (this.#closed) return Promise.reject(new LogError('E_LOG_CLOSED', 'the log is closed'))
    if (this.#fence) return Promise.reject(this.#fence)
    const headers = encodeHeaders(options.headers ?? {})
    if (payload.length + headers.length > MAX_RECORD_BYTES) {
      return Promise.reject(
        new LogError(
          'E_LOG_RECORD',
          `a record of ${payload.length + headers.length} bytes is over ${MAX_RECORD_BYTES}`,
        ),
      )
    }
    const offset = this.#next++
    const size = RECORD_HEADER + headers.length + payload.length
    const durable = options.durable ?? true
    return new Promise((resolve, reject) => {
      this.#pending.push({
        offset,
        timestamp: Date.now(),
        headers,
        payload,
        size,
        durable,
        resolve,
        reject,
      })
      this.#writing ??= this.#writeLoop()
    })
  }

  /** Records from `offset` on (or from the start, if it was deleted), within the limits. */
  async read(offset: number, maxRecords = 100, maxBytes = 1 << 20): Promise<LogRecord[]> {
    const from = Math.max(offset, this.startOffset)
    const segment = this.#segmentOf(from)
    if (!segment) return []
    return segment.read(from, maxRecords, maxBytes)
  }

  /** Deletes sealed segments whose records are all below `offset` (e.g. all acknowledged). */
  async deleteBefore(offset: number): Promise<number> {
    return this.#deleteWhile((segment) => segment.nextOffset <= offset)
  }

  /** Deletes the oldest sealed segments while the log is over `maxBytes` or they are older than `maxAgeMs`. */
  async applyRetention(limits: { maxBytes?: number; maxAgeMs?: number }): Promise<number> {
    const now = Date.now()
    let total = this.bytes
    return this.#deleteWhile((s) => {
      const tooBig = limits.maxBytes !== undefined && total > limits.maxBytes
      const tooOld = limits.maxAgeMs !== undefined && now - s.lastAppend > limits.maxAgeMs
      if (tooBig || tooOld) total -= s.size
      return tooBig || tooOld
    })
  }

  /** Writes the snapshot of the active segment's index now. */
  async snapshot(): Promise<void> {
    await this.#writing
    const active = this.#active()
    // Captured before the fsync, so the snapshot never covers bytes a power cut could lose.
    const state = { base: active.base, size: active.size, positions: active.positions().slice() }
    await active.sync()
    await writeSnapshot(this.dir, state)
  }

  /** Finishes pending appends, fsyncs, snapshots and closes. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    clearInterval(this.#syncTimer)
    clearInterval(this.#snapshotTimer)
    while (this.#writing) await this.#writing
    // A fenced log's disk already failed it: the next open recovers from what is there.
    if (this.#segments.length > 0 && !this.#fence) {
      await this.#active().sync()
      await this.snapshot()
    }
    for (const segment of this.#segments) await segment.close()
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending
        this.#pending = []
        try {
          // Readers stop at the committed offset: it passes records only once they are durable.
          if (await this.#writeBatch(batch)) this.#committed = batch[batch.length - 1]!.offset + 1
          for (const p of batch) p.resolve(p.offset)
        } catch (error) {
          await this.#fail(error)
          for (const p of [...batch, ...this.#pending]) p.reject(this.#fence)
          this.#pending = []
        }
      }
    } finally {
      this.#writing = undefined
    }
  }

  /**
   * Fences the log after a failed write or fsync (ENOSPC, EIO, EFBIG). Going on is not safe:
   * the offsets of the failed batch were handed out, and a later batch written where it should
   * have been would carry the wrong ones; after a failed fsync the kernel may have dropped the
   * dirty pages it could not write, so a retry that succeeds proves nothing (PostgreSQL's
   * "fsyncgate", 2018). The failed batch's bytes are cut off if the file system lets us, and a
   * reopen recovers from the file as it is.
   */
  async #fail(error: unknown): Promise<void> {
    if (this.#fence) return
    const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    this.#fence = new LogError(
      'E_LOG_FENCED',
      `the log in ${this.dir} stopped taking appends after a failed write (${cause}); nothing after its last confirmed record was confirmed. Free space or fix the disk, then restart`,
      { cause: error },
    )
    this.#next = this.#committed
    this.#log.error({ err: error }, 'append failed: the log is fenced until it is reopened')
    await this.#active()
      .truncate()
      .catch(() => {})
  }

  /** Writes the batch; resolves whether it is durable per the policy now. */
  async #writeBatch(batch: PendingAppend[]): Promise<boolean> {
    const always = this.#options.fsync.kind === 'always'
    // Under `always`, a batch holding a durable record is written durably, one segment at a time.
    const durable = always && batch.some((p) => p.durable)
    let at = 0
    while (at < batch.length) {
      let segment = this.#active()
      if (segment.size > 0 && segment.size + batch[at]!.size > this.#options.segmentBytes) {
        segment = await this.#roll()
      }
      // Everything that fits in this segment goes in one write, encoded into one buffer.
      const from = at
      let size = segment.size
      while (
        at < batch.length &&
        (at === from || size + batch[at]!.size <= this.#options.segmentBytes)
      ) {
        size += batch[at++]!.size
      }
      const group = batch.slice(from, at)
      // Not from Buffer's shared pool: the tail cache may keep it, and with it a whole slab.
      const bytes = Buffer.allocUnsafeSlow(size - segment.size)
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
      let end = 0
      for (const p of group) end = writeRecord(view, bytes, end, p, p.headers)
      await segment.append(
        bytes,
        group.map((p) => p.size),
        durable,
      )
    }
    if (!always) this.#dirty = true
    return !always || durable
  }

  async #roll(): Promise<Segment> {
    const sealed = this.#active()
    await sealed.sync()
    await sealed.writeIndex()
    await sealed.seal()
    const next = await Segment.create(this.dir, sealed.nextOffset)
    next.cacheTail(this.#options.tailCacheBytes)
    this.#segments.push(next)
    return next
  }

  #active(): Segment {
    return this.#segments[this.#segments.length - 1]!
  }

  #segmentOf(offset: number): Segment | undefined {
    let lo = 0
    let hi = this.#segments.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.#segments[mid]!.base <= offset) lo = mid
      else hi = mid - 1
    }
    const segment = this.#segments[lo]
    return segment && offset < segment.nextOffset ? segment : undefined
  }

  async #deleteWhile(test: (segment: Segment) => boolean): Promise<number> {
    let deleted = 0
    // Never the active segment: it holds the next offset.
    while (this.#segments.length > 1 && test(this.#segments[0]!)) {
      await this.#segments.shift()!.remove()
      deleted++
    }
    return deleted
  }

  async #recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const bases = (await readdir(this.dir))
      .filter((name) => /^\d{20}\.log$/.test(name))
      .map((name) => Number(name.slice(0, 20)))
      .sort((a, b) => a - b)
    if (bases.length === 0) {
      this.#segments = [await Segment.create(this.dir, 0)]
      this.#active().cacheTail(this.#options.tailCacheBytes)
      return
    }
    const snapshot = await readSnapshot(this.dir)
    for (const [i, base] of bases.entries()) {
      const segment = await Segment.open(this.dir, base)
      this.#segments.push(segment)
      const previous = this.#segments[i - 1]
      if (previous && previous.nextOffset !== base) {
        throw new LogError(
          'E_LOG_CORRUPT',
          `${segment.logPath} starts at offset ${base} but the segment before ends at ${previous.nextOffset - 1}; a segment is missing`,
        )
      }
      const active = i === bases.length - 1
      if (!active) {
        if (!(await segment.loadIndex())) {
          this.#log.warn(
            { segment: segment.logPath },
            'segment index missing or corrupt: rebuilding',
          )
          await segment.scan(false)
          await segment.writeIndex()
        }
        continue
      }
      const fileSize = await segment.fileSize()
      if (typeof snapshot !== 'string' && snapshot.base === base && snapshot.size <= fileSize) {
        segment.adopt(snapshot.positions, snapshot.size)
      } else if (typeof snapshot === 'string') {
        this.#log.info({ reason: snapshot }, 'no usable snapshot: scanning the active segment')
      }
      const { cutBytes } = await segment.scan(true)
      if (cutBytes > 0) {
        this.#log.warn(
          { segment: segment.logPath, cutBytes, keptRecords: segment.count },
          `torn tail: cut ${cutBytes} bytes after the last whole record`,
        )
      }
    }
    this.#next = this.#active().nextOffset
    this.#committed = this.#next
    this.#active().cacheTail(this.#options.tailCacheBytes)
  }

  #startTimers(): void {
    this.#startSyncTimer()
    const { snapshotEveryMs } = this.#options
    if (snapshotEveryMs > 0) {
      this.#snapshotTimer = setInterval(() => {
        if (this.#closed) return
        this.snapshot().catch((error: unknown) => this.#log.warn({ err: error }, 'snapshot failed'))
      }, snapshotEveryMs)
      this.#snapshotTimer.unref()
    }
  }

  #startSyncTimer(): void {
    const { fsync } = this.#options
    if (fsync.kind === 'interval') {
      this.#syncTimer = setInterval(() => {
        if (!this.#dirty || this.#closed || this.#fence) return
        this.#dirty = false
        // Confirmed records may not be on disk after a failed fsync: stop confirming more.
        this.#active()
          .sync()
          .catch((error: unknown) => this.#fail(error))
      }, fsync.ms)
      this.#syncTimer.unref()
    }
  }
}
