/** A byte range of a blob: `start` and `end` inclusive, as in HTTP ranges (RFC 9110 §14.1.2). */
export interface ByteRange {
  start: number
  end: number
}

export interface PutOptions {
  /** The source's length: another fails with `E_BLOB_SIZE` and stores nothing. */
  expectedSize?: number
  /**
   * The bytes' sha256 (hex) when the caller knows it already: a network store sends it for its
   * server to check instead of hashing the bytes again. A wrong one fails the put.
   */
  sha256?: string
  /**
   * Nothing referenced this blob before (the metadata says so): it is most likely not stored,
   * so a store across a network may put without looking first (the same bytes again are harmless).
   */
  fresh?: boolean
}

/** Memory for `read`: a buffer of exactly `size` bytes that the caller owns. */
export type Allocate = (size: number) => Uint8Array

export interface ReadOptions {
  /**
   * Lends the memory to read into (exactly `size` bytes; memory the caller reuses touches no
   * fresh pages); a store that cannot use it returns a buffer of its own.
   */
  allocate?: Allocate
  /**
   * The caller checks the bytes against their sha256 itself (a chunk's key): a store that
   * checks what it serves (a storage node hashes every blob it reads) may skip that check, so
   * the bytes are hashed once, where they are used. A caller that finds them damaged reads
   * again without this, which lets such a store refuse the damaged copy and serve another.
   */
  unchecked?: boolean
}

/** What `put` did: `created` is false when a blob was already stored under the key. */
export interface PutResult {
  created: boolean
  size: number
}

/**
 * The blob store port: immutable blobs by key. Keys are chosen by the caller (Piper uses the
 * sha256 of the content), so a second `put` of a key that exists is a no-op that still drains
 * its source. Adapters own their connections; `close()` is idempotent.
 */
export interface BlobStore {
  readonly name: string
  /**
   * How many chunks a reader should fetch ahead of the one it sends (default 1): a store across
   * a network answers each read a round trip later, so it wants several in flight.
   */
  readonly readAhead?: number
  start(): Promise<void>
  /**
   * Stores the bytes under `key`, atomically: a reader sees the whole blob or none. When
   * `expectedSize` is given, a source of another length fails with `E_BLOB_SIZE` and stores nothing.
   * A buffer source is lent until the put settles: the caller leaves it as it is meanwhile, and
   * the store holds on to none of it after (the caller may then free or transfer it).
   */
  put(
    key: string,
    source: Uint8Array | AsyncIterable<Uint8Array>,
    options?: PutOptions,
  ): Promise<PutResult>
  /**
   * Streams the blob, or the inclusive `range` of it, in pieces that are buffers of their own
   * (the consumer may keep, transfer or free each). Missing → `E_BLOB_NOT_FOUND`.
   */
  get(key: string, range?: ByteRange): Promise<AsyncIterable<Uint8Array>>
  /**
   * The whole blob in one buffer of its own, which the caller may transfer or free: for blobs
   * that fit in memory, such as chunks. Missing → `E_BLOB_NOT_FOUND`.
   */
  read(key: string, options?: ReadOptions): Promise<Uint8Array>
  /** The blob's size, or undefined when it is not stored. */
  stat(key: string): Promise<{ size: number } | undefined>
  /** Removes the blob; false when it was not there. */
  delete(key: string): Promise<boolean>
  /**
   * Every stored key (or every one starting with `prefix`) with its size and last modification
   * time, in no particular order. Only blobs: whatever else lies in the store is not listed.
   */
  list(prefix?: string): AsyncIterable<{ key: string; size: number; modified: Date }>
  close(): Promise<void>
}

/** Keys every adapter accepts: what fits in a file name and a URL path segment everywhere. */
export const BLOB_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]{3,199}$/
