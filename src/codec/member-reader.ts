import { ByteQueue } from './byte-queue.ts'
import { CodecError } from './errors.ts'
import { type MemberHeader, parseMemberHeader } from './gzip-member.ts'

/** A gzip header longer than this (huge FNAME/FCOMMENT/FEXTRA) is refused. */
const MAX_HEADER = 1 << 20

/**
 * Reads a gzip stream member by member from an async source, holding only what the current
 * member needs. Offsets it reports are absolute in the compressed input.
 */
export class MemberReader {
  readonly #queue = new ByteQueue()
  readonly #iterator: AsyncIterator<Uint8Array>
  #ended = false

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.#iterator = toAsync(source)[Symbol.asyncIterator]()
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
  async takeMember(
    size: number,
    member: number,
    into?: (n: number) => Uint8Array,
  ): Promise<Uint8Array> {
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
    for (let next = await this.#iterator.next(); !next.done; next = await this.#iterator.next())
      yield next.value
    this.#ended = true
  }

  async close(): Promise<void> {
    await this.#iterator.return?.()
  }

  async #fill(n: number): Promise<void> {
    while (!this.#ended && this.#queue.length < n) {
      const next = await this.#iterator.next()
      if (next.done) this.#ended = true
      else this.#queue.push(next.value)
    }
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

async function* toAsync(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* source
}
