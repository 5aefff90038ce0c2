import type { FileHandle } from 'node:fs/promises'
import { ByteQueue } from './byte-queue.ts'
import { CodecError } from './errors.ts'
import { type MemberHeader, parseMemberHeader } from './gzip-member.ts'
import { type Allocate, freshMemory } from './spare-buffers.ts'

/** A gzip header longer than this (huge FNAME/FCOMMENT/FEXTRA) is refused. */
const MAX_HEADER = 1 << 20
/** From a file: the least read for a header, and the pieces of what goes to zlib. */
const HEADER_READ = 16 * 1024
const REST_READ = 1 << 20

/** What a gzip stream is read from: pieces as they come, or a file read by position. */
export type GzipSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | FileHandle

/**
 * Reads a gzip stream member by member, holding only what the current member needs. Offsets it
 * reports are absolute in the compressed input. From a file (an open `FileHandle`, which the
 * caller closes), a member is read by position straight into the buffer it is taken into.
 */
export class MemberReader {
  readonly #queue = new ByteQueue()
  readonly #iterator: AsyncIterator<Uint8Array> | undefined
  readonly #file: FileHandle | undefined
  /** From a file: where the next read starts (past what the queue holds). */
  #filePosition = 0
  #ended = false

  constructor(source: GzipSource) {
    if (isFileHandle(source)) this.#file = source
    else this.#iterator = toAsync(source)[Symbol.asyncIterator]()
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.#queue.consumed
  }

  /**
   * The header of member number `member`, not consumed, or `undefined` at the end of the
   * input (which may end in zero padding after the last member).
   */
  async nextHeader(member: number): Promise<MemberHeader | undefined> {
    await this.#fill(10)
    if (this.#queue.length === 0) {
      if (member === 0)
        throw new CodecError('E_TRUNCATED', 'empty input is not gzip data', { member, offset: 0 })
      return undefined
    }
    if (member > 0 && (await this.#onlyZerosLeft())) return undefined
    // Most headers are 10–30 bytes; look further only for long names and comments.
    let window = 64
    for (;;) {
      const header = parseMemberHeader(this.#queue.peek(window), 0, member, this.offset)
      if (header) return header
      if (this.#queue.length < window && this.#ended) {
        throw new CodecError('E_TRUNCATED', 'gzip header ends early', {
          member,
          offset: this.offset + this.#queue.length,
        })
      }
      if (window >= MAX_HEADER)
        throw new CodecError('E_CORRUPT_DATA', 'gzip header is too long', {
          member,
          offset: this.offset,
        })
      window *= 4
      await this.#fill(window)
    }
  }

  /**
   * Consumes the next `size` bytes: one whole member whose size its header gave. With `into`,
   * copied into the buffer it gives (see `ByteQueue.take`).
   */
  async takeMember(size: number, member: number, into?: Allocate): Promise<Uint8Array> {
    if (this.#file && this.#queue.length < size) {
      return this.#readMember(this.#file, size, member, (into ?? freshMemory)(size))
    }
    await this.#fill(size)
    if (this.#queue.length < size) {
      throw new CodecError(
        'E_TRUNCATED',
        `member of ${size} bytes ends after ${this.#queue.length}`,
        {
          member,
          offset: this.offset + this.#queue.length,
        },
      )
    }
    return this.#queue.take(size, into)
  }

  /** Everything not yet consumed: the queued bytes, then the rest of the source. */
  async *rest(): AsyncGenerator<Uint8Array> {
    yield* this.#queue.takeAll()
    for (let next = await this.#next(REST_READ); next; next = await this.#next(REST_READ))
      yield next
    this.#ended = true
  }

  /** Ends reading; a file stays open for its caller to close. */
  async close(): Promise<void> {
    await this.#iterator?.return?.()
  }

  async #fill(n: number): Promise<void> {
    while (!this.#ended && this.#queue.length < n) {
      const next = await this.#next(Math.max(n - this.#queue.length, HEADER_READ))
      if (next) this.#queue.push(next)
      else this.#ended = true
    }
  }

  /** The next piece of the source (from a file, up to `size` bytes); none at its end. */
  async #next(size: number): Promise<Uint8Array | undefined> {
    if (!this.#file) {
      const next = await this.#iterator!.next()
      return next.done ? undefined : next.value
    }
    const piece = new Uint8Array(size)
    const { bytesRead } = await this.#file.read(piece, 0, size, this.#filePosition)
    this.#filePosition += bytesRead
    return bytesRead === 0 ? undefined : piece.subarray(0, bytesRead)
  }

  /** A member from a file: the bytes queued (its header), then the rest read into `out`. */
  async #readMember(
    file: FileHandle,
    size: number,
    member: number,
    out: Uint8Array,
  ): Promise<Uint8Array> {
    const start = this.offset
    const queued = this.#queue.length
    this.#queue.take(queued, () => out.subarray(0, queued))
    let filled = queued
    while (filled < size) {
      const { bytesRead } = await file.read(out, filled, size - filled, this.#filePosition)
      if (bytesRead === 0) break
      filled += bytesRead
      this.#filePosition += bytesRead
    }
    this.#queue.consumed += filled - queued
    if (filled < size) {
      this.#ended = true
      throw new CodecError('E_TRUNCATED', `member of ${size} bytes ends after ${filled}`, {
        member,
        offset: start + filled,
      })
    }
    return out
  }

  /** True when all that is left is zero bytes (padding some tools add after the last member). */
  async #onlyZerosLeft(): Promise<boolean> {
    // A member starts with 0x1f, so the first byte settles the common case without a scan.
    if (this.#queue.peek(1)[0] !== 0) return false
    for (;;) {
      if (this.#queue.peek(this.#queue.length).some((b) => b !== 0)) return false
      if (this.#ended) return true
      await this.#fill(this.#queue.length + 64 * 1024)
    }
  }
}

function isFileHandle(source: GzipSource): source is FileHandle {
  return typeof (source as FileHandle).read === 'function' && 'fd' in source
}

async function* toAsync(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* source
}
